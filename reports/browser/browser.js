/* auditkit evidence browser: the page's only script (inline, allowed by its hash in the CSP).
 *
 * Rules this file keeps (tests/report/test_browser_page.py lints them):
 * - every value from the data becomes text through document.createTextNode or
 *   textContent; nothing here ever parses a string as HTML;
 * - attributes are set only for names in SAFE_ATTRIBUTES; href values are page
 *   routes built here or evidence paths that match EVIDENCE_PATH;
 * - no state name or label is written here: they come from data.vocabulary.
 */
(function () {
  "use strict";

  var DATA = JSON.parse(document.getElementById("run-data").textContent);
  var ITEMS = JSON.parse(document.getElementById("item-data").textContent);
  var PAGE_SIZE = 50;
  var FIELD = {};
  DATA.item_fields.forEach(function (name, i) { FIELD[name] = i; });

  function vocab(list) {
    var map = new Map();
    list.forEach(function (v) { map.set(v.value, v); });
    return map;
  }
  var RESULTS = vocab(DATA.vocabulary.results);
  var STATUSES = vocab(DATA.vocabulary.statuses);
  var STATES = vocab(DATA.vocabulary.states);
  var SEVERITIES = vocab(DATA.vocabulary.severities);

  // The per-check counts and their column labels, in the order the data gives them.
  var COUNT_LABELS = DATA.vocabulary.counts.map(function (v) { return v.label; });
  function counts(c) { return DATA.vocabulary.counts.map(function (v) { return c[v.value]; }); }
  function numbered(first) {
    return COUNT_LABELS.map(function (_, i) { return first + i; });
  }

  var CHECKS = new Map();
  DATA.checks.forEach(function (c, i) { c.index = i; CHECKS.set(c.id, c); });
  var REQUIREMENTS = new Map();
  DATA.requirements.forEach(function (r) { REQUIREMENTS.set(r.id, r); });
  var ITEMS_BY_CHECK = DATA.checks.map(function () { return []; });
  ITEMS.forEach(function (item, n) { ITEMS_BY_CHECK[item[FIELD.check]].push(n); });

  // Control and bidi characters shown as escapes, as in the PDF and the terminal.
  var UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]/gu;
  function visible(value) {
    if (value === null || value === undefined) { return ""; }
    var text = typeof value === "string" ? value : JSON.stringify(value);
    return text.replace(UNSAFE, function (ch) {
      var code = ch.codePointAt(0);
      return code < 0x100 ? "\\x" + ("0" + code.toString(16)).slice(-2)
        : "\\u" + ("000" + code.toString(16)).slice(-4);
    });
  }
  function fmt(n) { return (n === null || n === undefined) ? "" : Number(n).toLocaleString("en"); }

  // -- building elements ------------------------------------------------------------

  var SAFE_ATTRIBUTES = new Set(["class", "id", "type", "for", "scope", "colspan", "value",
    "readonly", "aria-label", "aria-current", "aria-live", "aria-describedby", "tabindex",
    "role", "size", "data-item", "data-section", "autocomplete", "spellcheck"]);
  var EVIDENCE_PATH = /^evidence\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) { return; }
      if (!SAFE_ATTRIBUTES.has(name)) { throw new Error("attribute not allowed: " + name); }
      node.setAttribute(name, value === true ? "" : String(value));
    });
    for (var i = 2; i < arguments.length; i++) { add(node, arguments[i]); }
    return node;
  }
  function add(node, child) {
    if (child === null || child === undefined || child === false) { return; }
    if (Array.isArray(child)) { child.forEach(function (c) { add(node, c); }); return; }
    node.appendChild(typeof child === "object" && child.nodeType ? child
      : document.createTextNode(visible(String(child))));
  }
  function route(parts, params) {
    var hash = "#/" + parts.map(encodeURIComponent).join("/");
    var query = new URLSearchParams();
    Object.keys(params || {}).forEach(function (k) { if (params[k]) { query.set(k, params[k]); } });
    var q = query.toString();
    return q ? hash + "?" + q : hash;
  }
  function link(text, parts, params) {
    var a = el("a", {}, text);
    a.href = route(parts, params);
    return a;
  }
  function fileLink(path) {
    if (!EVIDENCE_PATH.test(path)) { return el("code", {}, path); }
    var a = el("a", {}, el("code", {}, path));
    a.href = path;
    return a;
  }
  function badge(map, value) {
    var entry = map.get(value);
    return el("span", { "class": "badge tone-" + (entry ? entry.tone : "neutral") },
      entry ? entry.label : value);
  }
  function facts(rows) {
    var dl = el("dl", { "class": "facts" });
    rows.forEach(function (row) {
      if (row[1] === null || row[1] === undefined || row[1] === "") { return; }
      dl.appendChild(el("dt", {}, row[0]));
      dl.appendChild(el("dd", {}, row[1]));
    });
    return dl;
  }
  function table(caption, headers, rows, numeric) {
    var num = new Set(numeric || []);
    var thead = el("thead", {}, el("tr", {}, headers.map(function (h, i) {
      return el("th", { scope: "col", "class": num.has(i) ? "num" : null }, h);
    })));
    var tbody = el("tbody", {}, rows.map(function (row) {
      return el("tr", {}, row.map(function (cell, i) {
        return el("td", { "class": num.has(i) ? "num" : null },
          typeof cell === "number" ? fmt(cell) : cell);
      }));
    }));
    return el("table", {}, caption ? el("caption", {}, caption) : null, thead, tbody);
  }
  function announce(text) {
    var live = document.getElementById("live");
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 30);
  }
  function select(label, name, options, current) {
    var id = "f-" + name;
    var s = el("select", { id: id },
      options.map(function (o) {
        var opt = el("option", { value: o[0] }, o[1]);
        if (o[0] === current) { opt.selected = true; }
        return opt;
      }));
    return [el("label", { "for": id }, label, s), s];
  }

  // A filter on one value: a list to choose from, or, past FACET_OPTIONS values (a list
  // that long is slow to build and useless to scroll), a box for the exact value.
  var FACET_OPTIONS = 300;
  function facet(label, name, values, current) {
    if (values.length <= FACET_OPTIONS) {
      return select(label, name, [["", "any"]].concat(values.map(function (v) {
        return [v, visible(v)];
      })), current);
    }
    var id = "f-" + name;
    var box = el("input", { id: id, type: "search", size: 20, autocomplete: "off",
      spellcheck: "false" });
    box.value = current;
    return [el("label", { "for": id }, label + " (exact; " + fmt(values.length) + " values)",
      box), box];
  }

  // -- the state kept in the address (so Back, bookmarks and links work) ------------

  function parseHash() {
    var hash = location.hash.replace(/^#/, "");
    if (hash.charAt(0) !== "/") { hash = "/summary"; }
    var q = hash.indexOf("?");
    var path = q < 0 ? hash : hash.slice(0, q);
    var params = new URLSearchParams(q < 0 ? "" : hash.slice(q + 1));
    var parts = path.split("/").slice(1).map(function (p) {
      try { return decodeURIComponent(p); } catch (e) { return p; }
    });
    var out = {};
    params.forEach(function (v, k) { out[k] = v; });
    return { parts: parts, params: out };
  }
  function replaceParams(parts, params) {
    try { history.replaceState(null, "", route(parts, params)); } catch (e) { /* keep going */ }
  }

  // -- item lists: filters and pages --------------------------------------------------

  var searchText = [];
  function itemText(n) {
    if (searchText[n] === undefined) {
      var it = ITEMS[n];
      searchText[n] = [it[FIELD.resource], it[FIELD.reason], it[FIELD.locator],
        it[FIELD.fingerprint], it[FIELD.exception], JSON.stringify(it[FIELD.evidence])]
        .join("\n").toLowerCase();
    }
    return searchText[n];
  }
  function distinct(indexes, field) {
    var seen = new Set();
    indexes.forEach(function (n) {
      var v = ITEMS[n][field];
      (Array.isArray(v) ? v : [v]).forEach(function (x) { if (x !== null && x !== "") { seen.add(x); } });
    });
    return Array.from(seen).sort();
  }

  function itemList(indexes, parts, params, showCheck) {
    var box = el("section", { "aria-label": "Items" });
    var controls = el("div", { "class": "filters", role: "search" });
    var statuses = distinct(indexes, FIELD.status);
    var order = DATA.vocabulary.statuses.map(function (s) { return s.value; });
    statuses.sort(function (a, b) { return order.indexOf(a) - order.indexOf(b); });
    var sevOrder = DATA.vocabulary.severities.map(function (s) { return s.value; });
    var severities = distinct(indexes, FIELD.severity);
    severities.sort(function (a, b) { return sevOrder.indexOf(a) - sevOrder.indexOf(b); });
    var any = [["", "any"]];
    var fStatus = select("Status", "status", any.concat(statuses.map(function (s) {
      var e = STATUSES.get(s); return [s, e ? e.label : s];
    })), params.status || "");
    var fSeverity = select("Severity", "severity", any.concat(severities.map(function (s) {
      var e = SEVERITIES.get(s); return [s, e ? e.label : s];
    })), params.severity || "");
    var fNamespace = facet("Namespace", "namespace", distinct(indexes, FIELD.namespaces),
      params.namespace || "");
    var fZone = facet("Zone", "zone", distinct(indexes, FIELD.zones), params.zone || "");
    var fCheck = null;
    if (showCheck) {
      fCheck = select("Check", "check", any.concat(DATA.checks.filter(function (c) {
        return ITEMS_BY_CHECK[c.index].length;
      }).map(function (c) { return [c.id, c.id]; })), params.check || "");
    }
    var search = el("input", { id: "f-text", type: "search", size: 28, autocomplete: "off",
      spellcheck: "false" });
    search.value = params.q || "";
    add(controls, [fStatus[0], fSeverity[0], fNamespace[0], fZone[0], fCheck ? fCheck[0] : null,
      el("label", { "for": "f-text" }, "Text (resource, reason, locator, evidence)", search)]);
    var count = el("p", { id: "item-count", "aria-live": "polite" });
    var results = el("div", {});
    add(box, [controls, count, results]);
    var page = Math.max(1, parseInt(params.page || "1", 10) || 1);

    function current() {
      return {
        status: fStatus[1].value, severity: fSeverity[1].value,
        namespace: fNamespace[1].value, zone: fZone[1].value,
        check: fCheck ? fCheck[1].value : "", q: search.value
      };
    }
    function matches(f) {
      var needle = f.q.trim().toLowerCase();
      var check = f.check ? CHECKS.get(f.check) : null;
      return indexes.filter(function (n) {
        var it = ITEMS[n];
        if (f.status && it[FIELD.status] !== f.status) { return false; }
        if (f.severity && it[FIELD.severity] !== f.severity) { return false; }
        if (f.namespace && it[FIELD.namespaces].indexOf(f.namespace) < 0) { return false; }
        if (f.zone && it[FIELD.zones].indexOf(f.zone) < 0) { return false; }
        if (check && it[FIELD.check] !== check.index) { return false; }
        if (needle && itemText(n).indexOf(needle) < 0) { return false; }
        return true;
      });
    }
    function draw(announceIt) {
      var f = current();
      var found = matches(f);
      var pages = Math.max(1, Math.ceil(found.length / PAGE_SIZE));
      page = Math.min(page, pages);
      var start = (page - 1) * PAGE_SIZE;
      var shown = found.slice(start, start + PAGE_SIZE);
      var p = Object.assign({}, params, f, { page: page > 1 ? String(page) : "" });
      replaceParams(parts, p);
      count.textContent = found.length
        ? fmt(found.length) + " of " + fmt(indexes.length) + " listed items match; showing " +
          fmt(start + 1) + "–" + fmt(start + shown.length) + "."
        : "No listed item matches these filters (" + fmt(indexes.length) + " listed).";
      var headers = ["Status", "Severity", "Item", "Reason", "Namespace / zone"];
      if (showCheck) { headers.splice(2, 0, "Check"); }
      var rows = shown.map(function (n) {
        var it = ITEMS[n];
        var row = [badge(STATUSES, it[FIELD.status]), badge(SEVERITIES, it[FIELD.severity]),
          link(it[FIELD.resource] || "(no name)", ["item", String(n)]), it[FIELD.reason],
          it[FIELD.namespaces].concat(it[FIELD.zones]).join(", ")];
        if (showCheck) {
          var c = DATA.checks[it[FIELD.check]];
          row.splice(2, 0, link(c.id, ["check", c.id]));
        }
        return row;
      });
      var prev = el("button", { type: "button" }, "Previous page");
      var next = el("button", { type: "button" }, "Next page");
      prev.disabled = page <= 1;
      next.disabled = page >= pages;
      prev.addEventListener("click", function () { page -= 1; draw(true); });
      next.addEventListener("click", function () { page += 1; draw(true); });
      var pager = el("div", { "class": "pager", role: "navigation", "aria-label": "Pages" },
        prev, el("span", {}, "Page " + fmt(page) + " of " + fmt(pages)), next);
      results.replaceChildren(table("Items, page " + fmt(page), headers, rows), pager);
      if (announceIt) { announce(count.textContent); }
    }
    var timer = null;
    function changed() { page = 1; draw(true); }
    function typed() {
      window.clearTimeout(timer);
      timer = window.setTimeout(changed, 200);
    }
    [fStatus[1], fSeverity[1], fNamespace[1], fZone[1]].concat(fCheck ? [fCheck[1]] : [])
      .forEach(function (s) {
        s.addEventListener(s.tagName === "INPUT" ? "input" : "change",
          s.tagName === "INPUT" ? typed : changed);
      });
    search.addEventListener("input", typed);
    draw(false);
    return box;
  }

  // -- views ----------------------------------------------------------------------------

  function statements() {
    return el("div", { "class": "note" }, el("p", {}, "What this page lists:"),
      el("ul", {}, DATA.statements.map(function (s) { return el("li", {}, s); })));
  }

  function resultCounts() {
    return el("ul", { "class": "cards", "aria-label": "Requirements per result" },
      DATA.vocabulary.results.map(function (r) {
        var n = DATA.summary.counts[r.value] || 0;
        return el("li", { "class": "tone-" + r.tone },
          el("span", { "class": "n" }, fmt(n)),
          link(r.label, ["requirements"], { result: r.value }));
      }));
  }

  function viewSummary() {
    var run = DATA.run, s = DATA.summary;
    var top = s.top_checks.map(function (id) {
      var c = CHECKS.get(id);
      var bySeverity = DATA.vocabulary.severities.filter(function (v) {
        return c.failing_by_severity[v.value];
      }).map(function (v) { return fmt(c.failing_by_severity[v.value]) + " " + v.label; });
      return [link(c.id, ["check", c.id]), c.title, c.failed, bySeverity.join(", "),
        el("span", {}, c.requirements.map(function (r, i) {
          return [i ? ", " : "", link(r, ["req", r])];
        }))];
    });
    var failingReqs = DATA.requirements.filter(function (r) {
      var e = RESULTS.get(r.result);
      return e && e.tone === "bad";
    });
    return [
      el("h1", { tabindex: "-1" }, "Summary: " + run.organisation),
      facts([["Run", String(run.id) + (run.label ? " (" + run.label + ")" : "")],
        ["Framework", run.framework], ["Framework version", run.framework_version],
        ["Entity type", run.entity_type],
        ["Results as of", run.as_of], ["Assessment period", run.period.join(" to ")],
        ["Evaluated (claimed by the signer's clock)", run.evaluated_at],
        ["Pack signed (claimed)", run.claimed_time], ["auditkit version", run.tool_version],
        ["Manifest key fingerprint", run.key_fingerprint]]),
      el("p", { "class": "note" }, "These are auditkit's results from the data in this pack: " +
        "candidates for the assessor, who makes the findings. Verify the pack with " +
        "'auditkit verify' before relying on it (see VERIFY.md)."),
      el("h2", {}, "Requirements per result"), resultCounts(),
      el("ul", { "class": "cards", "aria-label": "Items" },
        el("li", {}, el("span", { "class": "n" }, fmt(s.population)), "items tested"),
        s.item_statuses.map(function (pair) {
          var entry = STATUSES.get(pair[0]);
          return el("li", { "class": "tone-" + (entry ? entry.tone : "neutral") },
            el("span", { "class": "n" }, fmt(pair[1])),
            link((entry ? entry.label : pair[0]) + " items", ["items"], { status: pair[0] }));
        })),
      el("h2", {}, "Top issues"),
      top.length ? table("Checks with the most failing items, most severe first",
        ["Check", "What it tests", "Failing items", "By severity", "Requirements"], top, [2])
        : el("p", {}, "No check has failing items."),
      failingReqs.length ? table("Requirements with failing items (" + fmt(failingReqs.length) + ")",
        ["Requirement", "Title", "Result", "Basis"], failingReqs.map(function (r) {
          return [link(r.id, ["req", r.id]), r.title, badge(RESULTS, r.result), r.basis];
        })) : null,
      statements()
    ];
  }

  function viewRequirements(parts, params) {
    var fResult = select("Result", "result", [["", "any"]].concat(
      DATA.vocabulary.results.map(function (r) { return [r.value, r.label]; })),
      params.result || "");
    var search = el("input", { id: "f-text", type: "search", size: 28, autocomplete: "off" });
    search.value = params.q || "";
    var count = el("p", { "aria-live": "polite" });
    var holder = el("div", {});
    function draw(announceIt) {
      var result = fResult[1].value, q = search.value.trim().toLowerCase();
      var rows = DATA.requirements.filter(function (r) {
        if (result && r.result !== result) { return false; }
        return !q || (r.id + " " + r.title + " " + r.basis).toLowerCase().indexOf(q) >= 0;
      });
      replaceParams(parts, { result: result, q: search.value });
      count.textContent = fmt(rows.length) + " of " + fmt(DATA.requirements.length) +
        " requirements shown.";
      holder.replaceChildren(table(null, ["Requirement", "Title", "Result", "Checks",
        "Failing items"], rows.map(function (r) {
        var failing = r.checks.reduce(function (n, id) { return n + CHECKS.get(id).failed; }, 0);
        return [link(r.id, ["req", r.id]), r.title, badge(RESULTS, r.result),
          r.checks.length, failing];
      }), [3, 4]));
      if (announceIt) { announce(count.textContent); }
    }
    fResult[1].addEventListener("change", function () { draw(true); });
    search.addEventListener("input", function () { draw(true); });
    draw(false);
    return [el("h1", { tabindex: "-1" }, "Requirements"),
      el("div", { "class": "filters", role: "search" }, fResult[0],
        el("label", { "for": "f-text" }, "Text", search)), count, holder];
  }

  function viewRequirement(id) {
    var r = REQUIREMENTS.get(id);
    if (!r) { return notFound("requirement " + id); }
    var out = [el("h1", { tabindex: "-1" }, r.id + " " + r.title),
      facts([["Result", badge(RESULTS, r.result)], ["Basis", r.basis],
        ["Coverage", r.coverage],
        ["Method flags", [r.compensating_control ? "compensating control used" : "",
          r.customized_approach ? "customized approach used" : ""].filter(Boolean).join("; ")],
        ["Tested by", r.manual ? "the assessor (no check can evidence it)" : ""]])];
    if (r.to_do.length) {
      out.push(el("h2", {}, "Still to do by the assessor"),
        el("ul", {}, r.to_do.map(function (t) { return el("li", {}, t); })));
    }
    if (r.procedures.length) {
      out.push(el("h2", {}, "Testing procedures"), table(null,
        ["Procedure", "What it examines", "Methods", "Status", "Checks", "Evidence"],
        r.procedures.map(function (p) {
          return [p.id, p.text, p.methods.join(", "), p.status,
            el("span", {}, p.checks.map(function (c, i) {
            return [i ? ", " : "", CHECKS.has(c) ? link(c, ["check", c]) : c];
          })), p.refs.join(", ")];
        })));
    }
    out.push(el("h2", {}, "Checks"));
    out.push(r.checks.length ? table(null, ["Check", "What it tests", "State"]
      .concat(COUNT_LABELS), r.checks.map(function (id) {
      var c = CHECKS.get(id);
      return [link(c.id, ["check", c.id]), c.title, badge(STATES, c.state)].concat(counts(c));
    }), numbered(3)) : el("p", {}, "No check is mapped to this requirement."));
    if (r.attestations.length) {
      out.push(el("h2", {}, "Attestations on file"), table(null,
        ["Attestation", "Kind", "Dates", "Performed by", "Result"],
        r.attestations.map(function (a) {
          return [a.id, a.kind, a.date_start + (a.date_end && a.date_end !== a.date_start
            ? " to " + a.date_end : ""), a.performed_by, a.result];
        })));
    }
    return out;
  }

  function viewChecks() {
    return [el("h1", { tabindex: "-1" }, "Checks"), table(null, ["Check", "What it tests",
      "State", "Severity"].concat(COUNT_LABELS), DATA.checks.map(function (c) {
      return [link(c.id, ["check", c.id]), c.title, badge(STATES, c.state),
        badge(SEVERITIES, c.severity)].concat(counts(c));
    }), numbered(4))];
  }

  function listedNote(c) {
    var l = c.listed;
    var text = "This page lists " + fmt(l.findings) + " of " + fmt(l.findings_total) +
      " failing and excepted items and " + fmt(l.others) + " of " + fmt(l.others_total) +
      " other items of this check.";
    if (l.findings < l.findings_total || l.others < l.others_total) {
      text += " Every item is in the evidence files below.";
    }
    return el("p", { "class": "note" }, text);
  }

  function sqlBlock(c) {
    if (!c.sql) { return null; }
    return el("details", {}, el("summary", {}, "The check's SQL (" + c.sql_file + ")"),
      el("pre", {}, el("code", {}, document.createTextNode(c.sql))));
  }

  function refBox(ref, labelText) {
    refBox.count = (refBox.count || 0) + 1;
    var id = "ref-" + refBox.count;
    var input = el("input", { id: id, type: "text", readonly: true, value: ref,
      size: Math.min(90, ref.length + 2) });
    var button = el("button", { type: "button" }, "Copy reference");
    button.addEventListener("click", function () {
      function fallback() {
        input.select();
        var ok = false;
        try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
        announce(ok ? "Copied: " + ref : "Select the reference and copy it");
      }
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(ref).then(function () { announce("Copied: " + ref); },
          fallback);
      } else { fallback(); }
    });
    return el("div", { "class": "ref" }, el("label", { "for": id }, labelText), input, button);
  }

  function viewCheck(id, parts, params) {
    var c = CHECKS.get(id);
    if (!c) { return notFound("check " + id); }
    var sev = DATA.vocabulary.severities.filter(function (v) {
      return c.failing_by_severity[v.value];
    }).map(function (v) { return fmt(c.failing_by_severity[v.value]) + " " + v.label; });
    var out = [el("h1", { tabindex: "-1" }, c.id + ": " + c.title),
      facts([["State", badge(STATES, c.state)], ["Reason", c.reason],
        ["Severity", badge(SEVERITIES, c.severity)], ["Kind of item", c.resource_type],
        ["Requirements", el("span", {}, c.requirements.map(function (r, i) {
          return [i ? ", " : "", link(r, ["req", r])];
        }))], ["What it tests", c.description], ["Why", c.rationale],
        ["Remediation", c.remediation], ["References", c.references.join("; ")]]),
      table("Population", COUNT_LABELS.concat([DATA.vocabulary.by_severity]),
        [counts(c).concat([sev.join(", ")])], numbered(0))];
    if (c.params.length) {
      out.push(table("Parameters", ["Name", "Value", "Where the value came from"],
        c.params.map(function (p) {
          return [p.name, p.value + (p.unit ? " " + p.unit : ""), p.provenance];
        })));
    }
    out.push(el("h2", {}, "Evidence"), refBox(c.ref, "Evidence reference"));
    if (c.files.length) {
      out.push(el("ul", {}, c.files.map(function (f) { return el("li", {}, fileLink(f)); })));
    }
    out.push(sqlBlock(c), el("h2", {}, "Items"), listedNote(c),
      itemList(ITEMS_BY_CHECK[c.index], parts, params, false));
    return out;
  }

  function viewItems(parts, params) {
    var all = ITEMS.map(function (_, n) { return n; });
    return [el("h1", { tabindex: "-1" }, "Items of every check"), statements(),
      itemList(all, parts, params, true)];
  }

  function evidenceRows(evidence) {
    if (evidence === null || evidence === undefined) { return []; }
    if (typeof evidence !== "object" || Array.isArray(evidence)) {
      return [["evidence", evidence]];
    }
    return Object.keys(evidence).map(function (k) { return [k, evidence[k]]; });
  }

  function viewItem(key) {
    var n = /^[0-9]+$/.test(key) ? Number(key) : -1;
    var it = ITEMS[n];
    if (!it) { return notFound("item " + key); }
    var c = DATA.checks[it[FIELD.check]];
    var file = it[FIELD.file] === null || it[FIELD.file] < 0 ? null : DATA.files[it[FIELD.file]];
    var evidence = it[FIELD.evidence];
    var records = [[file ? file[1] || "(file not in this run's inputs)" : "(none recorded)",
      el("code", {}, file ? file[0] : ""), el("code", {}, it[FIELD.locator] || "")]];
    var recordHeaders = ["File", "SHA-256", "Locator"];
    if (file && file[3]) { recordHeaders.push("Evidence reference"); records[0].push(file[3]); }
    var supporting = evidence && typeof evidence === "object" && !Array.isArray(evidence)
      && Array.isArray(evidence.supporting_records) ? evidence.supporting_records : [];
    var out = [el("h1", { tabindex: "-1" }, it[FIELD.resource] || "(no name)"),
      facts([["Check", link(c.id + ": " + c.title, ["check", c.id])],
        ["Status", badge(STATUSES, it[FIELD.status])],
        ["Severity", badge(SEVERITIES, it[FIELD.severity])],
        ["Reason", it[FIELD.reason]],
        ["Counts towards", it[FIELD.requirement] ? it[FIELD.requirement] + " only"
          : c.requirements.join(", ")],
        ["Exception", it[FIELD.exception]],
        ["Namespace", it[FIELD.namespaces].join(", ")], ["Zone", it[FIELD.zones].join(", ")],
        ["Fingerprint", el("code", {}, it[FIELD.fingerprint])]]),
      refBox(c.ref + " item " + it[FIELD.fingerprint], "Evidence reference"),
      table("Supporting record", recordHeaders, records)];
    if (supporting.length) {
      out.push(table("Further supporting records (as the check lists them)", ["Records"],
        supporting.map(function (s) { return [s]; })));
    }
    if (typeof evidence === "string") {
      out.push(el("h2", {}, "Evidence (clipped)"), el("pre", {}, visible(evidence)));
    } else {
      var ev = evidenceRows(evidence);
      out.push(ev.length ? table("Evidence", ["Field", "Value"], ev.map(function (row) {
        return [row[0], row[1] === null ? "" : row[1]];
      })) : el("p", {}, "No evidence fields."));
    }
    out.push(el("p", {}, "This item in full, with every other item of the check: ",
      c.files.map(function (f, i) { return [i ? ", " : "", fileLink(f)]; })));
    out.push(sqlBlock(c));
    return out;
  }

  function viewChanges(parts, params) {
    var ch = DATA.changes;
    if (!ch) {
      return [el("h1", { tabindex: "-1" }, "Changes"),
        el("p", {}, "No earlier run of this framework to compare with.")];
    }
    var out = [el("h1", { tabindex: "-1" }, "Changes since run " + ch.run_a + " (as of " +
      ch.as_of_a + ")"), el("p", {}, "Run " + ch.run_b + " (as of " + ch.as_of_b +
      ") against run " + ch.run_a + ". Items are matched by fingerprint.")];
    var totals = Object.keys(ch.totals);
    out.push(table("Items per kind of change", totals.map(function (k) {
      return k.replace(/_/g, " ");
    }), [totals.map(function (k) { return ch.totals[k]; })], totals.map(function (_, i) {
      return i;
    })));
    out.push(ch.requirements.length ? table("Requirement results that changed",
      ["Requirement", "Title", "Before", "After"], ch.requirements.map(function (r) {
        return [REQUIREMENTS.has(r.requirement) ? link(r.requirement, ["req", r.requirement])
          : r.requirement, r.title, r.before ? badge(RESULTS, r.before) : "—",
        r.after ? badge(RESULTS, r.after) : "—"];
      })) : el("p", {}, "No requirement changed its result."));
    var fields = {};
    ch.fields.forEach(function (f, i) { fields[f] = i; });
    var kinds = Object.keys(ch.in_diff);
    var fKind = select("Change", "change", [["", "any"]].concat(kinds.map(function (k) {
      return [k, k];
    })), params.change || "");
    var search = el("input", { id: "f-text", type: "search", size: 28, autocomplete: "off" });
    search.value = params.q || "";
    var count = el("p", { "aria-live": "polite" });
    var holder = el("div", {});
    function draw(announceIt) {
      var kind = fKind[1].value, q = search.value.trim().toLowerCase();
      var rows = ch.findings.filter(function (f) {
        if (kind && f[fields.change] !== kind) { return false; }
        return !q || f.join("\n").toLowerCase().indexOf(q) >= 0;
      });
      replaceParams(parts, { change: kind, q: search.value });
      var shown = rows.slice(0, 500);
      count.textContent = fmt(rows.length) + " changed items match" +
        (shown.length < rows.length ? "; the first " + fmt(shown.length) + " are shown." : ".");
      holder.replaceChildren(table(null, ["Change", "Check", "Item", "Severity", "Before",
        "After", "Reason"], shown.map(function (f) {
        var cid = f[fields.check];
        return [f[fields.change], CHECKS.has(cid) ? link(cid, ["check", cid]) : cid,
          f[fields.resource], badge(SEVERITIES, f[fields.severity]),
          f[fields.before] ? badge(STATUSES, f[fields.before]) : "—",
          f[fields.after] ? badge(STATUSES, f[fields.after]) : "—", f[fields.reason]];
      })));
      if (announceIt) { announce(count.textContent); }
    }
    fKind[1].addEventListener("change", function () { draw(true); });
    search.addEventListener("input", function () { draw(true); });
    var notes = kinds.filter(function (k) { return ch.listed[k] < ch.in_diff[k]; })
      .map(function (k) {
        return el("li", {}, k + ": " + fmt(ch.listed[k]) + " of " + fmt(ch.in_diff[k]) +
          " listed here; the workbook's Changes sheet and 'auditkit diff' list more.");
      });
    out.push(el("h2", {}, "Changed items"), notes.length ? el("ul", { "class": "note" }, notes)
      : null, el("div", { "class": "filters", role: "search" }, fKind[0],
      el("label", { "for": "f-text" }, "Text", search)), count, holder);
    draw(false);
    return out;
  }

  function viewSources() {
    return [el("h1", { tabindex: "-1" }, "Sources and exceptions"),
      table("Input files (" + fmt(DATA.sources.length) + ")", ["File", "Format", "SHA-256",
        "Records stored", "Records skipped"], DATA.sources.map(function (s) {
        return [s.path, s.format, el("code", {}, s.sha256), s.records, s.skipped];
      }), [3, 4]),
      DATA.exceptions.length ? table("Exceptions register (" + fmt(DATA.exceptions.length) + ")",
        ["Exception", "Check", "Kind", "State", "Items matched", "Expires", "Requirement",
          "Justification"], DATA.exceptions.map(function (e) {
          return [e.id, CHECKS.has(e.check) ? link(e.check, ["check", e.check]) : e.check,
            e.kind, e.state, e.matched, e.expires, e.requirement, e.justification];
        })) : el("p", {}, "No exceptions in the register.")];
  }

  function notFound(what) {
    return [el("h1", { tabindex: "-1" }, "Not found"),
      el("p", {}, "This pack has no " + what + ". "), link("Back to the summary", ["summary"])];
  }

  // -- routing ----------------------------------------------------------------------

  function show() {
    var h = parseHash(), parts = h.parts, params = h.params, section = parts[0];
    var view;
    if (section === "requirements") { view = viewRequirements(parts, params); }
    else if (section === "req") { view = viewRequirement(parts[1] || ""); section = "requirements"; }
    else if (section === "checks") { view = viewChecks(); }
    else if (section === "check") { view = viewCheck(parts[1] || "", parts, params); section = "checks"; }
    else if (section === "items") { view = viewItems(parts, params); }
    else if (section === "item") { view = viewItem(parts[1] || ""); section = "items"; }
    else if (section === "changes") { view = viewChanges(parts, params); }
    else if (section === "sources") { view = viewSources(); }
    else { view = viewSummary(); section = "summary"; }
    var main = document.getElementById("main");
    main.replaceChildren();
    add(main, view);
    document.querySelectorAll("nav a[data-section]").forEach(function (a) {
      if (a.getAttribute("data-section") === section) { a.setAttribute("aria-current", "page"); }
      else { a.removeAttribute("aria-current"); }
    });
    var h1 = main.querySelector("h1");
    document.title = (h1 ? h1.textContent + " · " : "") + DATA.run.organisation +
      ", run " + DATA.run.id;
    if (h1 && show.started) { h1.focus(); }
    show.started = true;
    show.count = (show.count || 0) + 1;
    document.documentElement.setAttribute("data-shown", String(show.count));
  }

  document.getElementById("run-line").textContent = visible(DATA.run.organisation) + " · run " +
    DATA.run.id + " · results as of " + DATA.run.as_of + " · period " +
    DATA.run.period.join(" to ");
  document.getElementById("skip").addEventListener("click", function (event) {
    event.preventDefault();
    var h1 = document.querySelector("main h1");
    (h1 || document.getElementById("main")).focus();
  });
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });
  window.addEventListener("hashchange", show);
  show();
  document.documentElement.setAttribute("data-ready", "true");
}());
