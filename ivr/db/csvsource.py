"""CSV files as Brazilian spreadsheets export them: encoding, line endings, separator, header names, rejects.

The reading layer shared by every import (`ivr import`, `ivr payments import`): a :class:`CsvSource` sniffs
the bytes once (UTF-8 with or without BOM, Windows-1252, mixed; LF, CRLF or Excel for Mac's CR-only lines;
``;``, ``,`` or tab, and Excel's ``sep=;`` first line) and then streams :class:`Record`\\ s with their
physical line numbers, as many times as a reader needs (flat memory). :func:`header_key` and
:func:`match_headers` map header cells to canonical fields; :class:`RejectsWriter` writes refused records
back in the input's own encoding and separator, so the operator fixes them in the spreadsheet and imports
that file as it is.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ivr.br.formats import DecimalMark, amount_evidence, decide_decimal_mark
from ivr.br.text import fold
from ivr.errors import InputError

_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}")
_STOPWORDS = {"de", "do", "da", "dos", "das"}


def detect_encoding(fh: BinaryIO, name: str) -> str:
    """``utf-8-sig`` for valid UTF-8, ``cp1252`` for Latin-1/Windows exports, ``mixed`` when both appear.

    Reads the whole stream once and rewinds it. In a mixed file the UTF-8 lines are read and the others are
    refused one by one: guessing would silently garble names (``JoÃ£o``). ``InputError`` for UTF-16 or binary.
    """
    head = fh.read(4096)
    fh.seek(0)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head:
        raise InputError(
            f"{name}: the file is UTF-16 or binary, not a CSV text file; in the spreadsheet use "
            "'Save as' → 'CSV UTF-8' (or 'CSV (separado por vírgulas)')"
        )
    decoder = codecs.getincrementaldecoder("utf-8")()
    saw_utf8 = False
    valid = True
    while chunk := fh.read(1 << 20):
        if not saw_utf8 and _UTF8_MULTIBYTE.search(chunk):
            saw_utf8 = True
        if valid:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                valid = False
    if valid:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            valid = False
    fh.seek(0)
    if valid:
        return "utf-8-sig"
    return "mixed" if saw_utf8 else "cp1252"


def detect_delimiter(header_line: str) -> str:
    """The separator a header line uses: the most frequent of ``;``, ``,`` and tab (``;`` when none)."""
    counts = {d: header_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ";"


def header_key(text: str) -> str:
    """A header cell compared without case, accents, spaces, punctuation, units or small words.

    ``"Data de Vencimento"`` → ``datavencimento``, ``"Valor (R$)"`` → ``valor``, ``"Nº Contrato"`` →
    ``nocontrato``, ``"Dt. Venc."`` → ``dtvenc``, ``"CPF/CNPJ"`` → ``cpfcnpj``, ``"E-mail"`` → ``email``.
    """
    key = fold(text.strip()).replace("r$", " ")
    words = [w for w in re.split(r"[^a-z0-9]+", key) if w and w not in _STOPWORDS]
    return "".join(words)


def match_headers(
    headers: Sequence[str],
    aliases: Mapping[str, Sequence[str]],
    multi: Callable[[str, str], bool] = lambda canon, key: False,
) -> dict[str, list[int]]:
    """Canonical field → column indexes, from ``aliases`` (canonical → accepted :func:`header_key`\\ s).

    ``multi(canon, key)`` says whether field ``canon`` may have several columns (phones: ``telefone``,
    ``telefone 2``...). Unknown columns are ignored. ``InputError`` when two columns mean the same single
    field.
    """
    lookup = {alias: canon for canon, names in aliases.items() for alias in names}
    found: dict[str, list[int]] = {}
    for i, header in enumerate(headers):
        key = header_key(header)
        canon = lookup.get(key)
        if canon is None:
            continue
        if canon in found and not multi(canon, key):
            raise InputError(f"columns {headers[found[canon][0]]!r} and {header!r} both mean {canon}; keep one")
        found.setdefault(canon, []).append(i)
    return found


@dataclass
class Record:
    """One CSV record: its first physical line, its fields, and whether a line of it was not text like the
    rest of the file (not UTF-8 in a UTF-8 file, or a NUL byte)."""

    line: int
    fields: list[str]
    bad_encoding: bool = False


@dataclass
class CsvSource:
    """A CSV file sniffed once and readable many times (see the module docstring).

    Build it with :meth:`open` (a path) or :meth:`from_bytes` (tests, uploads). ``InputError`` (one line,
    naming the file) for an empty, UTF-16 or binary file.
    """

    name: str
    opener: Callable[[], BinaryIO]
    encoding: str = ""
    """``utf-8-sig``, ``cp1252`` or ``mixed``."""
    delimiter: str = ";"
    newline: bytes = b"\n"
    """``b"\\r"`` for CR-only files (Excel for Mac's "CSV (Macintosh)"), else ``b"\\n"``."""
    header_line: int = 1
    """Physical line of the header (2 after a ``sep=;`` line)."""
    headers: list[str] = field(default_factory=list)
    progress: Callable[[int], None] | None = None
    """Called with the bytes read, on :meth:`records` calls that ask for it."""

    @classmethod
    def open(cls, path: str | os.PathLike[str], progress: Callable[[int], None] | None = None) -> CsvSource:
        path = Path(path)
        try:
            path.open("rb").close()
        except FileNotFoundError:
            raise InputError(f"{path}: file not found") from None
        except IsADirectoryError:
            raise InputError(f"{path}: is a directory, expected a CSV file") from None
        except PermissionError:
            raise InputError(f"{path}: cannot be read (permission denied)") from None
        source = cls(name=str(path), opener=lambda: path.open("rb"), progress=progress)
        source._sniff()
        return source

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "<memory>") -> CsvSource:
        source = cls(name=name, opener=lambda: io.BytesIO(data))
        source._sniff()
        return source

    def _sniff(self) -> None:
        with self.opener() as fh:
            self.encoding = detect_encoding(fh, self.name)
            head = fh.read(1 << 16)
        if b"\r" in head and b"\n" not in head:
            self.newline = b"\r"
        with self.opener() as fh:
            lines = self._decoded(fh, None, set())
            first = next(lines, "")
            if re.fullmatch(r"sep=.\s*", first.strip("\r\n"), flags=re.IGNORECASE):
                self.delimiter = first.strip()[4]
                self.header_line = 2
                first = next(lines, "")
            elif first.strip():
                self.delimiter = detect_delimiter(first)
        if not first.strip():
            raise InputError(f"{self.name}: the file is empty; the first line must name the columns")
        try:
            self.headers = next(csv.reader([first.rstrip("\r\n")], delimiter=self.delimiter))
        except csv.Error as exc:
            raise InputError(
                f"{self.name}: line {self.header_line}: the header cannot be read as CSV ({exc})"
            ) from None

    def _byte_lines(self, fh: BinaryIO) -> Iterator[bytes]:
        if self.newline == b"\n":
            yield from fh
            return
        rest = b""
        while chunk := fh.read(1 << 16):
            parts = (rest + chunk).split(b"\r")
            rest = parts.pop()
            for part in parts:
                yield part + b"\r"
        if rest:
            yield rest

    def _decoded(self, fh: BinaryIO, progress: Callable[[int], None] | None, bad: set[int]) -> Iterator[str]:
        for number, raw in enumerate(self._byte_lines(fh), start=1):
            if progress:
                progress(len(raw))
            if self.encoding == "mixed":
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    bad.add(number)
                    text = raw.decode("cp1252", errors="replace")
            else:
                text = raw.decode(self.encoding, errors="replace")
            if "\x00" in text:  # never text; PostgreSQL refuses it in a string
                bad.add(number)
                text = text.replace("\x00", "")
            if number == 1 and text.startswith("\ufeff"):
                text = text[1:]
            yield text

    def records(self, with_progress: bool = False) -> Iterator[Record]:
        """The non-blank records after the header, each with its first physical line number."""
        bad: set[int] = set()
        with self.opener() as fh:
            lines = self._decoded(fh, self.progress if with_progress else None, bad)
            for _ in range(self.header_line):
                next(lines, None)
            reader = csv.reader(lines, delimiter=self.delimiter)
            end = self.header_line
            while True:
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:  # a NUL byte, or an unclosed quote that swallowed the rest of the file
                    raise InputError(
                        f"{self.name}: line {end + 1}: the file cannot be read as CSV ({exc}); check for a quote "
                        '(") that is never closed, or re-save the file as CSV from the spreadsheet'
                    ) from None
                start, end = end + 1, self.header_line + reader.line_num
                if not any(c.strip() for c in fields):
                    continue
                broken = bool(bad) and any(n in bad for n in range(start, end + 1))
                yield Record(start, fields, broken)


def scan_decimal_mark(source: CsvSource, columns: Sequence[int]) -> DecimalMark:
    """The decimal mark of the amounts in ``columns`` (indexes) of ``source``: one pass, flat memory.

    Pass the result to :func:`ivr.br.formats.parse_amount` for each amount of the file.
    """
    marks: set[str] = set()
    for record in source.records():
        for i in columns:
            if i < len(record.fields) and (mark := amount_evidence(record.fields[i])):
                marks.add(mark)
        if len(marks) == 2:
            break
    return decide_decimal_mark(marks, source.delimiter)


_REJECT_COLUMNS = ("linha", "campo", "motivo")


class RejectsWriter:
    """Refused records with ``linha;campo;motivo`` first and the input's own columns after them.

    Written in the input's encoding (``cp1252`` stays ``cp1252``; UTF-8 gets a BOM so Excel opens it right)
    and separator (with Excel's ``sep=`` line when the input had one), mode 0600 (it holds personal data).
    A rejects file that is itself imported again keeps its
    three columns in place instead of adding three more. Close it with :meth:`close`.
    """

    def __init__(self, path: Path, source: CsvSource) -> None:
        self.path = path
        encoding = "cp1252" if source.encoding == "cp1252" else "utf-8-sig"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        self._fh = open(fd, "w", encoding=encoding, errors="replace", newline="")
        self._csv = csv.writer(self._fh, delimiter=source.delimiter, lineterminator="\r\n")
        keys = [header_key(h) for h in source.headers]
        self._in_place = [keys.index(c) for c in _REJECT_COLUMNS] if all(c in keys for c in _REJECT_COLUMNS) else None
        self._width = len(source.headers)
        if source.header_line == 2:
            self._fh.write(f"sep={source.delimiter}\r\n")  # the input had Excel's hint: keep it
        self._csv.writerow(source.headers if self._in_place else [*_REJECT_COLUMNS, *source.headers])

    def write(self, line: int, column: str, reason: str, fields: Sequence[str]) -> None:
        """One refused record: its line in the input, the column at fault (its header), the reason."""
        if self._in_place:
            row = list(fields) + [""] * (self._width - len(fields))
            for pos, value in zip(self._in_place, (str(line), column, reason)):
                row[pos] = value
        else:
            row = [str(line), column, reason, *fields]
        self._csv.writerow(row)

    def close(self) -> None:
        self._fh.close()
