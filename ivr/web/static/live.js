// Live wall: one EventSource on /ao-vivo/eventos; each "snapshot" event redraws counters, dialers and calls.
(function () {
  "use strict";
  var source = new EventSource("/ao-vivo/eventos");
  var labels = { running: "em andamento", paused: "pausada" };
  function text(id, value) { document.getElementById(id).textContent = value; }
  function cell(row, value, cls) { var td = row.insertCell(); td.textContent = value; if (cls) td.className = cls; }
  function duration(s) { var m = Math.floor(s / 60); return m + ":" + String(s % 60).padStart(2, "0"); }
  source.addEventListener("snapshot", function (event) {
    var snap = JSON.parse(event.data), c = snap.counters;
    text("live-clock", "atualizado às " + snap.at);
    text("c-in-progress", c.in_progress);
    text("c-placed", c.placed_today);
    text("c-answered", c.answered_today);
    text("c-short", c.short_share.toLocaleString("pt-BR") + "% (" + c.short_today + ")");
    document.getElementById("short-box").classList.toggle("warn", c.short_warning);
    text("c-service", snap.service);
    var dialers = document.getElementById("dialers");
    dialers.replaceChildren();
    snap.campaigns.forEach(function (camp) {
      var li = document.createElement("li");
      li.className = "status s-" + camp.status;
      li.textContent = camp.name + ": " + (labels[camp.status] || camp.status);
      dialers.appendChild(li);
    });
    if (!snap.campaigns.length) { dialers.innerHTML = '<li class="muted">nenhuma campanha em andamento ou pausada</li>'; }
    var body = document.querySelector("#live-calls tbody");
    body.replaceChildren();
    snap.calls.forEach(function (call) {
      var row = body.insertRow();
      row.dataset.attempt = call.id;
      cell(row, "#" + call.id); cell(row, call.campaign); cell(row, call.number); cell(row, call.stage);
      cell(row, duration(call.seconds), "n");
    });
    if (!snap.calls.length) {
      var empty = body.insertRow(); var td = empty.insertCell(); td.colSpan = 5; td.className = "muted";
      td.textContent = "nenhuma chamada agora";
    }
  });
  source.onerror = function () { text("live-clock", "reconectando…"); };
})();
