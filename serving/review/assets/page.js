(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("review-data").textContent);
  var es = D.lang === "es";
  function num(x, d) {
    if (x === null || x === undefined || !isFinite(x)) return "\u2014";
    var s = Math.abs(x).toFixed(d), parts = s.split(".");
    var neg = x < 0 && /[1-9]/.test(s);
    var i = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, es ? "." : ",");
    return (neg ? "-" : "") + (parts.length > 1 ? i + (es ? "," : ".") + parts[1] : i);
  }
  function fig(kind, x) {
    if (x === null || x === undefined || !isFinite(x)) return "\u2014";
    if (kind === "pct") return num(x * 100, 1) + (es ? "\u00a0%" : "%");
    if (kind === "money") return es ? num(x, 2) + "\u00a0" + D.currency : D.currency + num(x, 2);
    if (kind === "signed1") { var n = num(x, 1); return x > 0 && /[1-9]/.test(n) ? "+" + n : n; }
    return num(x, {int: 0, num1: 1, num2: 2}[kind]);
  }
  function readInput(id) {
    var el = document.getElementById(id);
    var v = el.value === "" ? NaN : Number(el.value);
    return isFinite(v) && v >= 0 ? v : NaN;
  }
  function withInputs(r, minutes, costHour) {
    var hours = r.leads_per_week * minutes / 60.0;
    var saved = (D.weekly - r.leads_per_week) * minutes / 60.0;
    var cost = r.sqls_per_week > 0 ? hours * costHour / r.sqls_per_week : NaN;
    var out = {};
    for (var k in r) out[k] = r[k];
    out.sdr_hours_per_week = hours;
    out.sdr_hours_saved_per_week = saved;
    out.cost_per_sql = cost;
    return out;
  }
  function show(id, kind, x) {
    var el = document.getElementById(id);
    if (!el) return;
    el.textContent = fig(kind, x);
    el.setAttribute("data-value", x === null || !isFinite(x) ? "" : String(x));
  }
  var byCutoff = {};
  D.rows.forEach(function (r) { byCutoff[String(r.cutoff)] = r; });
  var slider = document.getElementById("cutoff");
  var marker = document.getElementById("gains-marker");
  var svg = marker ? marker.ownerSVGElement : null;
  function update() {
    var minutes = readInput("minutes"), costHour = readInput("cost-hour");
    var c = Number(slider.value);
    var r = withInputs(byCutoff[String(c)], minutes, costHour);
    document.getElementById("cutoff-value").textContent = String(c);
    slider.setAttribute("aria-valuetext", String(c));
    Object.keys(D.formats).forEach(function (k) { show("fig-" + D.slugs[k], D.formats[k], r[k]); });
    Object.keys(D.refs).forEach(function (rule) {
      var rr = withInputs(D.refs[rule], minutes, costHour);
      ["sdr_hours_per_week", "sdr_hours_saved_per_week", "cost_per_sql"].forEach(function (k) {
        show("ref-" + D.rule_slugs[rule] + "-" + D.slugs[k], D.formats[k], rr[k]);
      });
    });
    var p = withInputs(D.refs.persona_rule, minutes, costHour);
    show("fig-vs-persona-sqls", "signed1", r.sqls_per_week - p.sqls_per_week);
    show("fig-vs-persona-hours", "signed1", r.sdr_hours_per_week - p.sdr_hours_per_week);
    if (svg) {
      var g = svg.dataset, sc = r.share_captured === null ? 0 : r.share_captured;
      var x = Number(g.x0) + r.share_passed * Number(g.w), y = Number(g.y0) - sc * Number(g.h);
      marker.setAttribute("transform", "translate(" + x.toFixed(2) + " " + y.toFixed(2) + ")");
    }
  }
  slider.addEventListener("input", update);
  slider.addEventListener("change", update);
  document.getElementById("minutes").addEventListener("input", update);
  document.getElementById("cost-hour").addEventListener("input", update);
  update();
})();
