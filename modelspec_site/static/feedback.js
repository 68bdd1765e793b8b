/* Passage selection for feedback, in the reader and on clause pages. No framework.

   - Selecting text inside one clause's .clause-body (mouse or touch) shows a floating
     "Comment on this passage" link near the selection.
   - Keyboard: every paragraph of a clause body (p, li; not inside examples) gets its own
     "Comment on this paragraph" link, visually subtle until focused.
   - Without this script the per-clause "Comment" link still works.

   The server re-finds the quote in the clause's plain text: blocks separated by one character,
   whitespace collapsed, example figures and eval markers left out. The text built here follows
   the same rules, so `start` is usually exact; it is only a hint, the quote itself decides. */
(function () {
  "use strict";

  var BLOCKS = { P: 1, LI: 1, PRE: 1, BLOCKQUOTE: 1, TR: 1, H1: 1, H2: 1, H3: 1, H4: 1, H5: 1, H6: 1, ASIDE: 1 };
  var SKIP = "figure.example, .fb-ui, .evalref";
  var CONTEXT = 32;
  var MAX_QUOTE = 1500; // keep the form's URL well under server limits
  var WS = /\s/;

  function t(name, fallback) {
    var el = document.getElementById("fb-strings");
    return (el && el.dataset[name]) || fallback;
  }

  /* The clause body's text as the server sees it, with where each text node starts. */
  function walk(body) {
    var raw = [];
    var length = 0;
    var nodes = [];
    var marks = new Map();
    function push(s) { raw.push(s); length += s.length; }
    function visit(node) {
      if (node.nodeType === 3) {
        nodes.push({ node: node, start: length });
        push(node.data);
        return;
      }
      if (node.nodeType !== 1 || node.matches(SKIP)) return;
      var block = BLOCKS[node.tagName] === 1;
      if (node.tagName === "BR") push("\n");
      if (block) push("\n");
      var mark = { start: length, end: null };
      marks.set(node, mark);
      for (var child = node.firstChild; child; child = child.nextSibling) {
        if (mark.end === null && (child.tagName === "UL" || child.tagName === "OL")) {
          mark.end = length; // a list item's own text stops where its sub-list begins
        }
        visit(child);
      }
      if (mark.end === null) mark.end = length;
      if (block) push("\n");
    }
    visit(body);
    return { raw: raw.join(""), nodes: nodes, marks: marks };
  }

  /* Collapse whitespace runs to one space and trim; map[i] = index in the result of raw[i]. */
  function normalise(raw) {
    var out = [];
    var outLength = 0;
    var map = new Array(raw.length + 1);
    var pending = false;
    for (var i = 0; i < raw.length; i++) {
      var c = raw[i];
      if (WS.test(c)) {
        if (outLength) pending = true;
        map[i] = outLength;
      } else {
        if (pending) { out.push(" "); outLength += 1; pending = false; }
        map[i] = outLength;
        out.push(c);
        outLength += 1;
      }
    }
    map[raw.length] = outLength;
    return { text: out.join(""), map: map };
  }

  function quoteFor(text, start, end) {
    while (start < end && text[start] === " ") start++;
    while (end > start && text[end - 1] === " ") end--;
    if (end <= start) return null;
    if (end - start > MAX_QUOTE) end = start + MAX_QUOTE;
    return {
      exact: text.slice(start, end),
      prefix: text.slice(Math.max(0, start - CONTEXT), start),
      suffix: text.slice(end, end + CONTEXT),
      start: start,
      end: end
    };
  }

  function formUrl(section, quote, example) {
    var link = section.querySelector(".fb-comment-link");
    if (!link) return null;
    var url = new URL(link.href, window.location.href);
    if (example) url.searchParams.set("example", example);
    if (quote) {
      url.searchParams.set("exact", quote.exact);
      url.searchParams.set("prefix", quote.prefix);
      url.searchParams.set("suffix", quote.suffix);
      url.searchParams.set("start", String(quote.start));
      url.searchParams.set("end", String(quote.end));
    }
    return url.pathname + url.search;
  }

  /* ---- Selections (mouse and touch) ---- */

  var floating = null;
  var hideTimer = null;

  function floatingLink() {
    if (floating) return floating;
    floating = document.createElement("a");
    floating.className = "fb-ui fb-passage-link";
    floating.textContent = t("passage", "Comment on this passage");
    floating.hidden = true;
    // Keep the selection while the pointer presses the link.
    floating.addEventListener("mousedown", function (event) { event.preventDefault(); });
    document.body.appendChild(floating);
    return floating;
  }

  function hide() {
    if (floating) floating.hidden = true;
  }

  function sectionOf(node) {
    var el = node && (node.nodeType === 1 ? node : node.parentElement);
    var body = el && el.closest(".clause-body");
    return body ? { body: body, section: body.closest("section.clause") } : null;
  }

  function selectionQuote() {
    var selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
    var range = selection.getRangeAt(0);
    var a = sectionOf(range.startContainer);
    var b = sectionOf(range.endContainer);
    if (!a || !b || a.body !== b.body || !a.section) return null;
    var figureA = exampleOf(range.startContainer);
    if (figureA && figureA === exampleOf(range.endContainer)) {
      // Inside one example: comment on the example (its text is not the clause's text).
      return { example: figureA.id.slice("example-".length), section: a.section, range: range };
    }
    var w = walk(a.body);
    var rawStart = null;
    var rawEnd = null;
    for (var i = 0; i < w.nodes.length; i++) {
      var n = w.nodes[i];
      if (!range.intersectsNode(n.node)) continue;
      var from = n.node === range.startContainer ? range.startOffset : 0;
      var to = n.node === range.endContainer ? range.endOffset : n.node.data.length;
      if (to <= from) continue;
      if (rawStart === null) rawStart = n.start + from;
      rawEnd = n.start + to;
    }
    if (rawStart === null) return null;
    var norm = normalise(w.raw);
    var quote = quoteFor(norm.text, norm.map[rawStart], norm.map[rawEnd]);
    if (!quote) return null;
    return { quote: quote, section: a.section, range: range };
  }

  function exampleOf(node) {
    var el = node && (node.nodeType === 1 ? node : node.parentElement);
    var figure = el && el.closest("figure.example");
    return figure && figure.id.indexOf("example-") === 0 ? figure : null;
  }

  function update() {
    var found = selectionQuote();
    if (!found) {
      // A short delay lets a tap on the link itself land before it goes away.
      clearTimeout(hideTimer);
      hideTimer = setTimeout(hide, 250);
      return;
    }
    clearTimeout(hideTimer);
    var href = found.example
      ? formUrl(found.section, null, found.example)
      : formUrl(found.section, found.quote);
    if (!href) return;
    var link = floatingLink();
    link.href = href;
    link.textContent = found.example
      ? t("example", "Comment on this example")
      : t("passage", "Comment on this passage");
    var rects = found.range.getClientRects();
    var rect = rects.length ? rects[rects.length - 1] : found.range.getBoundingClientRect();
    link.hidden = false;
    var left = Math.min(
      rect.right + window.scrollX,
      window.scrollX + document.documentElement.clientWidth - link.offsetWidth - 8
    );
    link.style.left = Math.max(window.scrollX + 8, left) + "px";
    link.style.top = rect.bottom + window.scrollY + 6 + "px";
  }

  var pending = null;
  function schedule() {
    clearTimeout(pending);
    pending = setTimeout(update, 120);
  }

  /* ---- One link per paragraph, for keyboards ---- */

  function addParagraphLinks(body) {
    var section = body.closest("section.clause");
    if (!section || !section.querySelector(".fb-comment-link")) return;
    var paragraphs = Array.prototype.filter.call(body.querySelectorAll("p, li"), function (el) {
      if (el.closest("figure.example, .fb-ui")) return false;
      if (el.tagName === "P" && el.classList.contains("commentary-title")) return false;
      if (el.tagName === "LI" && el.querySelector(":scope > p")) return false; // its p has one
      return el.textContent.trim().length > 0;
    });
    if (!paragraphs.length) return;
    var w = walk(body);
    var norm = normalise(w.raw);
    var label = t("paragraph", "Comment on this paragraph");
    paragraphs.forEach(function (el) {
      var mark = w.marks.get(el);
      if (!mark) return;
      var quote = quoteFor(norm.text, norm.map[mark.start], norm.map[mark.end]);
      if (!quote) return;
      var link = document.createElement("a");
      link.className = "fb-ui fb-paragraph-link";
      link.href = formUrl(section, quote);
      link.textContent = label;
      var hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = ": " + quote.exact.slice(0, 40) + (quote.exact.length > 40 ? "…" : "");
      link.appendChild(hidden);
      var list = el.tagName === "LI" ? el.querySelector(":scope > ul, :scope > ol") : null;
      if (list) el.insertBefore(link, list);
      else el.appendChild(link);
    });
  }

  /* ---- One link per example ---- */

  function addExampleLinks(body) {
    var section = body.closest("section.clause");
    if (!section || !section.querySelector(".fb-comment-link")) return;
    body.querySelectorAll("figure.example").forEach(function (figure) {
      var caption = figure.querySelector("figcaption");
      if (!caption || figure.id.indexOf("example-") !== 0) return;
      var link = document.createElement("a");
      link.className = "fb-ui fb-example-link";
      link.href = formUrl(section, null, figure.id.slice("example-".length));
      link.textContent = t("example", "Comment on this example");
      link.setAttribute("aria-describedby", caption.id);
      caption.after(link); // outside the caption, which names the figure
    });
  }

  /* ---- After htmx swaps, move focus to the message that says what happened ---- */

  function focusAfterSwap(event) {
    var target = event.detail && event.detail.target;
    var el = target && target.querySelector("[data-fb-focus]");
    if (el) el.focus();
  }

  /* ---- The form: one sending per click (the server also files a form only once) ---- */

  function guardForm(form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sending) event.preventDefault();
      else form.dataset.sending = "1";
    });
    // Coming back with the Back button: the form can be sent again.
    window.addEventListener("pageshow", function () { delete form.dataset.sending; });
  }

  function init() {
    var form = document.getElementById("feedback-form");
    if (form) guardForm(form);
    var bodies = document.querySelectorAll("section.clause .clause-body");
    bodies.forEach(addParagraphLinks);
    bodies.forEach(addExampleLinks);
    if (bodies.length) {
      document.addEventListener("selectionchange", schedule);
      document.addEventListener("mouseup", schedule);
      document.addEventListener("touchend", schedule);
      document.addEventListener("keyup", function (event) {
        if (event.key === "Escape") hide();
        else if (event.shiftKey) schedule();
      });
    }
    document.body.addEventListener("htmx:afterSwap", focusAfterSwap);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
