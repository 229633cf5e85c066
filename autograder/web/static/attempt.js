// An attempt's page: poll its status until it is graded, then show the result (text only, never HTML).
(function () {
  "use strict";
  var root = document.getElementById("attempt");
  if (!root) { return; }

  function row(body, texts) {
    var tr = document.createElement("tr");
    texts.forEach(function (text) {
      var td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    });
    body.appendChild(tr);
  }

  function show(attempt) {
    document.getElementById("state").textContent = attempt.state;
    document.getElementById("hidden-status").textContent = attempt.hidden_status;
    var visible = attempt.visible;
    if (visible) {
      document.getElementById("seconds").textContent = "(the notebook ran for " + visible.seconds + " s)";
      var problem = document.getElementById("run-error");
      problem.hidden = !visible.error;
      problem.textContent = visible.error || "";
      var tests = document.querySelector("#tests tbody");
      tests.textContent = "";
      visible.tests.forEach(function (test) {
        row(tests, [test.cell, test.passed ? "passed" : "failed", test.error || ""]);
      });
      var errors = document.getElementById("cell-errors");
      errors.textContent = "";
      visible.cell_errors.forEach(function (item) {
        var li = document.createElement("li");
        li.textContent = "cell " + item.index + (item.cell ? " (" + item.cell + ")" : "") + ": " + item.error;
        errors.appendChild(li);
      });
    }
    if (attempt.hidden) {
      var hidden = document.getElementById("hidden");
      var body = hidden.querySelector("tbody");
      body.textContent = "";
      attempt.hidden.checks.forEach(function (check) {
        row(body, [check.name, check.points + " / " + check.max_points, check.message]);
      });
      hidden.hidden = false;
    }
  }

  function poll() {
    fetch(root.dataset.source, {credentials: "same-origin"})
      .then(function (reply) { return reply.json(); })
      .then(function (attempt) {
        show(attempt);
        if (attempt.state === "queued" || attempt.state === "running") { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
}());
