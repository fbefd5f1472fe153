"""Reading the answer to "É Maria Souza quem está falando?": the identity gate (CDC art. 42/71, LGPD art. 6).

Only an explicit confirmation opens the debt: "sim", "sou eu (mesma)", "é ela", "ela mesma", "a própria",
"falando", or the debtor's own name. A greeting reply ("tudo bem, e você?"), "pois não?", "pode falar" alone,
any question, another person's name, a relation word ("é a mãe", "sou a nora dela") or a word about the
debtor in the third person ("ela não pode atender", "é da casa dela") is never one. A reply that is neither
a confirmation nor a refusal comes back as ``unknown`` (ambiguous): the dialog asks once more.

Pure functions over the text folded by ``ivr.language.nlu.normalize``; no model, so every decision can be
traced (``evidence``) and tested as a table.
"""

from __future__ import annotations

import re

from ivr.language.numbers import strip_accents
from ivr.vocabulary import Intent

RELATION_WORDS = frozenset(
    {
        "mae",
        "pai",
        "filho",
        "filha",
        "marido",
        "esposa",
        "esposo",
        "mulher",
        "irma",
        "irmao",
        "cunhado",
        "cunhada",
        "vizinha",
        "vizinho",
        "nora",
        "genro",
        "sogra",
        "sogro",
        "tia",
        "tio",
        "avo",
        "neto",
        "neta",
        "namorado",
        "namorada",
        "colega",
        "patroa",
        "patrao",
        "chefe",
        "secretaria",
        "empregada",
        "diarista",
        "cuidadora",
        "cuidador",
        "prima",
        "primo",
        "sobrinho",
        "sobrinha",
        "madrinha",
        "padrinho",
        "enteada",
        "enteado",
        "padrasto",
        "madrasta",
        "companheiro",
        "companheira",
        "amiga",
        "amigo",
        "baba",
        "funcionaria",
        "funcionario",
        "inquilino",
        "inquilina",
        "responsavel",
        "parente",
        "familia",
        "familiar",
        "caseira",
        "caseiro",
        "afilhada",
        "afilhado",
        "ex",
        "noivo",
        "noiva",
        "bisavo",
        "nete",
    }
)
"""Who a third party says they are ("é a mãe", "sou o cunhado", "aqui é a vizinha")."""

_VOCATIVES = re.compile(r"\b(?:meu|minha) (?:filho|filha|bem|querid[oa]|amig[oa]|senhor|senhora|anjo|flor)\b")
"""Forms of address, not relations: "sou eu, minha filha"."""

_NOT_A_NAME = frozenset(
    {
        "ela",
        "ele",
        "eu",
        "a",
        "o",
        "propria",
        "proprio",
        "mesma",
        "mesmo",
        "sim",
        "nao",
        "casa",
        "senhora",
        "senhor",
        "dona",
        "seu",
        "pessoa",
        "isso",
        "que",
        "com",
        "de",
        "da",
        "do",
        "seguinte",
        "primeira",
        "primeiro",
        "vez",
        "hora",
        "momento",
        "minha",
        "meu",
        "sua",
        "voce",
        "gente",
        "moca",
        "moco",
        "menina",
        "menino",
        "rapaz",
        "dela",
        "dele",
        "falando",
        "aqui",
        "so",
        "um",
        "uma",
        "quem",
        "ligacao",
        "numero",
        "telefone",
        "tudo",
        "bem",
        "bom",
        "boa",
        "dia",
        "tarde",
        "noite",
        "certo",
        "certa",
        "propio",
        "propia",
        "eu mesma",
        "ta",
        "to",
        "esse",
        "essa",
        "este",
        "esta",
        "pra",
        "para",
        "sobre",
        "empresa",
        "banco",
        "assunto",
        "senhorita",
        "pois",
    }
    | RELATION_WORDS
)

_NAME_PARTICLES = frozenset({"da", "de", "do", "das", "dos", "e"})

# Explicit confirmations; matched on folded text, then removed so what is left can be checked for third parties.
_STRONG = re.compile(
    r"\b(?:sou eu(?: mesm[oa])?(?: mesmo)?|e eu|eu mesm[oa]|sou (?:ele|ela)|(?:e )?(?:com )?(?:ele|ela) mesm[oa]|"
    r"(?:e )?(?:o|a) propri[oa]|propri[oa]|(?:ta|esta|voce ta|voce esta) falando com (?:ele|ela|eu)(?: mesm[oa])?|"
    r"e com (?:ele|ela)(?: mesm[oa])?|(?:que )?e (?:ele|ela)(?: (?:sim|mesm[oa]|que ta falando|que esta falando|falando))?|"
    r"(?:eu|ela|ele) (?:mesm[oa] )?falando|^falando$|(?:^|sim )e comigo(?: mesm[oa])?(?: sim)?$)\b"
)
_WEAK = re.compile(
    r"\b(?:sim(?: senhor\w*)?|isso(?: mesmo)?|exato|exatamente|aham|uhum|hum hum|positivo|com certeza|claro|correto|"
    r"certo|e sim|sou|confirmo|confirmado|afirmativo)\b"
)
_SOFT_ONLY = re.compile(
    r"^(?:(?:pois nao|pode falar|pode dizer|pode|fala|diga|diz|tudo bem|tudo bom|tudo otimo|tudo certo|bem|oi|ola|alo|"
    r"bom dia|boa tarde|boa noite|e voce|e com voce|e o senhor|e a senhora|ok|beleza|ta|ta bom|sem problemas?|"
    r"pronto|sim)\s*)+$"
)
"""Replies that carry words of "yes" but confirm nothing: a greeting, "pode falar", "pois não"."""

_DEBTOR_IS_MY = re.compile(r"\b(?!eu\b|sou\b)\w+ e (?:a |o )?(?:meu|minha) (\w+)\b")
"""The debtor named as the speaker's relation: "a Maria é minha filha", "ela é minha mãe"."""
_POIS_NAO_SOU_EU = re.compile(r"^pois nao sou eu(?: mesm[oa])?(?: sim)?$")
_NEGATION = re.compile(r"(?<!pois )\bnao\b(?! (?:tem problema|ha problema|precisa|se preocupe|tem de que|faz mal))")
"""A "não" that is not a reassurance ("não tem problema", "não precisa")."""
_REPEAT_WORDS = re.compile(
    r"repet|entend|ouvi|escut|de novo|novamente|devagar|mais alto|cortando|^(?:como|hein|han|ahn|que|o que)$"
)
_THIRD_PERSON = re.compile(r"\b(?:ela|ele)\b")
_POSSESSIVE = re.compile(r"\b(?:dela|dele|da casa|das contas|pra ela|pra ele|por ela|por ele)\b")
_NAME_FRAME = re.compile(
    r"(?:\b(?:e|aqui|fala) (?:a |o |dona |seu )|\b(?:sou|aqui e|quem fala e|eu sou) (?:a |o |dona |seu )?)([a-z]{3,})"
    r"(?: ([a-z]{3,}))?(?= falando\b|$| sim\b| aqui\b| filh| mae| pai| \w+ dela| \w+ dele| da | do | de )"
)
_NAME_SPEAKING = re.compile(r"^([a-z]{3,})(?: ([a-z]{3,}))? falando$")
_NAME_AS_SUBJECT = re.compile(r"\b(?:a|o|dona|seu) ([a-z]{3,}) (?:nao|saiu|ta|esta|foi|viajou|trabalha|volta|chega)\b")


def debtor_names(full_name: str) -> frozenset[str]:
    """The debtor's name words, folded: "Maria Aparecida de Souza" -> {maria, aparecida, souza}."""
    words = re.findall(r"[a-z]+", strip_accents(full_name))
    return frozenset(w for w in words if w not in _NAME_PARTICLES and len(w) >= 3)


def read_identity(norm: str, raw: str, debtor_name: str, base_intent: str) -> tuple[Intent | None, str]:
    """The identity reading of one reply, or None to keep the general reading ``base_intent``.

    ``norm`` is the folded text (``nlu.normalize``), ``raw`` what was heard (a "?" makes it a question).
    Returns (intent, evidence): ``affirm`` only for an explicit confirmation, ``not_available`` for a third
    party, ``unknown`` for an ambiguous reply (ask again).
    """
    if base_intent in (Intent.AGENT, Intent.OPT_OUT, Intent.DECEASED, Intent.UNREACHABLE_PERSON):
        return None, ""
    if base_intent == Intent.REPEAT and _REPEAT_WORDS.search(norm):
        return None, ""
    # "a Maria é minha filha": the speaker names the debtor as their relation (before vocatives are dropped).
    kin = _DEBTOR_IS_MY.search(norm)
    if kin and kin.group(1) in RELATION_WORDS:
        return Intent.NOT_AVAILABLE, f"identity: the debtor named as the speaker's relation ({kin.group(0)!r})"
    # ASR text has no commas: "pois não sou eu" is "pois não, sou eu", not "não sou eu".
    if _POIS_NAO_SOU_EU.match(norm):
        return Intent.AFFIRM, "identity: explicit confirmation 'pois nao, sou eu'"
    text = _VOCATIVES.sub(" ", norm)
    text = re.sub(r"\s+", " ", text).strip()
    names = debtor_names(debtor_name)
    words = text.split()

    relation = next((w for w in words if w in RELATION_WORDS), None)
    if relation and not re.search(r"\b(?:meu|minha|o meu|a minha) " + relation + r"\b(?! (?:dela|dele))", text):
        return Intent.NOT_AVAILABLE, f"identity: relation word {relation!r}"
    m = _NAME_AS_SUBJECT.search(text)
    if m and m.group(1) in names:
        return Intent.NOT_AVAILABLE, f"identity: the debtor spoken of in the third person ({m.group(0)!r})"
    if base_intent == Intent.HOLD:
        return None, ""

    strong = _STRONG.search(text)
    residue = _STRONG.sub(" ", text) if strong else text
    about = _POSSESSIVE.search(residue)
    if about:
        return Intent.NOT_AVAILABLE, f"identity: about the debtor ({about.group(0)!r})"
    if _THIRD_PERSON.search(residue):
        return Intent.NOT_AVAILABLE, "identity: the debtor spoken of in the third person"
    if base_intent in (
        Intent.ASK_WHO,
        Intent.ASK_ROBOT,
        Intent.ASK_CNPJ,
        Intent.ASK_SOURCE,
        Intent.ASK_PROTOCOL,
        Intent.ASK_SCAM,
        Intent.ASK_AMOUNT,
        Intent.TOO_MANY_CALLS,
    ) and not _STRONG.search(text):
        return None, ""
    other = _other_name(text, names)
    if other:
        return Intent.NOT_AVAILABLE, f"identity: another person's name {other!r}"
    if base_intent == Intent.WRONG_PERSON:
        return None, ""

    question = "?" in raw
    own_name = next((w for w in words if w in names), None)
    negation = _NEGATION.search(text)
    if (strong or own_name) and negation:
        # "é ela não" (Northeast: "it is not her"), "Maria? não", "aqui não tem Maria": never a confirmation.
        return Intent.UNKNOWN, f"identity: ambiguous (a confirmation with {negation.group(0)!r})"
    if strong:
        return Intent.AFFIRM, f"identity: explicit confirmation {strong.group(0)!r}"
    if own_name and not question:
        return Intent.AFFIRM, f"identity: the debtor's own name {own_name!r}"
    if base_intent in (
        Intent.ASK_WHO,
        Intent.ASK_ROBOT,
        Intent.ASK_CNPJ,
        Intent.ASK_SOURCE,
        Intent.ASK_PROTOCOL,
        Intent.ASK_SCAM,
        Intent.TOO_MANY_CALLS,
        Intent.HOLD,
    ):
        return None, ""
    weak = _WEAK.search(text)
    if weak and not question and not _NEGATION.search(text):
        return Intent.AFFIRM, f"identity: explicit confirmation {weak.group(0)!r}"
    if question or _SOFT_ONLY.match(text):
        return Intent.UNKNOWN, "identity: ambiguous (a greeting, a question or 'pode falar' confirms nothing)"
    if base_intent == Intent.AFFIRM:
        return Intent.UNKNOWN, "identity: ambiguous (no explicit confirmation)"
    return None, ""


def _other_name(text: str, names: frozenset[str]) -> str | None:
    """A first name that is not the debtor's, in a self-introduction: "é a Joana", "aqui é o Pedro", "Joana falando"."""
    for rx in (_NAME_SPEAKING, _NAME_FRAME):
        m = rx.search(text)
        if m is None:
            continue
        first = m.group(1)
        if first in _NOT_A_NAME or first in names:
            continue
        return first
    return None


def debtor_away(norm: str, debtor_name: str) -> bool:
    """The debtor spoken of as not on the line: "ela não está", "a Maria não tá", "ela não pode atender".

    Narrower than the ``not_available`` intent, for use after identity, where "o dinheiro não tá dando" or
    "meu marido não tá trabalhando" are the debtor's own words about money or family, not an absence."""
    names = "|".join(sorted(debtor_names(debtor_name))) or "ela"
    return (
        re.search(
            rf"(?:^|\b(?:mas|so que|e que|olha|desculpa|na verdade|sim|nao)\s)(?:ela|ele|(?:a |o |dona |seu )?(?:{names}))"
            r" (?:nao|num) (?:esta|ta|se encontra|pode (?:atender|falar)|mora (?:mais )?aqui)\b",
            norm,
        )
        is not None
    )
