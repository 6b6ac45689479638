(function () {
  "use strict";
  // the "by group" section follows the page's cut-off slider: share of each group's leads passed
  var D = JSON.parse(document.getElementById("fairness-data").textContent);
  var es = D.lang === "es";
  var slider = document.getElementById("cutoff");
  if (!slider) return;
  function pct(x) {
    if (x === null || x === undefined || !isFinite(x)) return "\u2014";
    var s = Math.abs(x * 100).toFixed(1), parts = s.split(".");
    var i = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, es ? "." : ",");
    return i + (es ? "," : ".") + parts[1] + (es ? "\u00a0%" : "%");
  }
  function update() {
    var c = Number(slider.value);
    Array.prototype.forEach.call(document.querySelectorAll(".fair-cut"), function (el) {
      el.textContent = String(c);
    });
    D.columns.forEach(function (col, k) {
      col.leads.forEach(function (n, i) {
        var el = document.getElementById("fair-" + k + "-" + i);
        if (!el) return;
        var share = n > 0 ? col.passed[i][c] / n : NaN;
        el.textContent = pct(share);
        el.setAttribute("data-value", isFinite(share) ? String(share) : "");
      });
    });
  }
  slider.addEventListener("input", update);
  slider.addEventListener("change", update);
  update();
})();
