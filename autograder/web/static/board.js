// Live public board: re-fetch /api/board and rebuild the rows (text only, never HTML).
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live) { return; }
  var source = live.dataset.source;
  var every = Math.max(0.2, parseFloat(live.dataset.refresh) || 5) * 1000;
  var digits = parseInt(live.dataset.digits, 10) || 3;
  var body = live.querySelector("tbody");
  var stamp = document.getElementById("updated");

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
  }

  function when(iso) {
    return iso.replace("T", " ").replace(/\.\d+Z$/, " UTC");
  }

  function render(rows) {
    var fresh = document.createElement("tbody");
    rows.forEach(function (entry) {
      var tr = document.createElement("tr");
      if (entry.rank === null) { tr.className = "unranked"; }
      cell(tr, entry.rank === null ? "\u2013" : String(entry.rank));
      cell(tr, entry.student);
      cell(tr, Number(entry.score).toFixed(digits));
      cell(tr, entry.state);
      tr.lastChild.className = "state";
      cell(tr, when(entry.submitted_at));
      fresh.appendChild(tr);
    });
    if (!rows.length) {
      var tr = document.createElement("tr");
      tr.className = "empty";
      var td = document.createElement("td");
      td.colSpan = 5;
      td.textContent = "No submissions yet.";
      tr.appendChild(td);
      fresh.appendChild(tr);
    }
    body.replaceWith(fresh);
    body = fresh;
    stamp.textContent = new Date().toISOString().slice(11, 19) + " UTC";
  }

  function poll() {
    fetch(source, {cache: "no-store", credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (rows) { if (rows) { render(rows); } })
      .catch(function () { /* keep the last board; try again later */ })
      .then(function () { setTimeout(poll, every); });
  }
  setTimeout(poll, every);
}());
