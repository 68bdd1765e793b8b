/* Keyboard shortcuts of the staff triage queue (templates/feedback/staff/queue.html).

   j / k      next / previous row (moves focus and the highlight)
   a          assign the row's item to me
   t          triage it
   s          mark it as spam, after a confirmation
   o, Enter   open the item (Enter when the row itself has focus)
   ?          show or hide the shortcuts help

   Nothing fires while typing in a field, or with Ctrl, Alt or Meta held. Acting posts the bulk
   form's endpoint with just this row, through htmx when it is there (the list is swapped in
   with a per-item report, and the same row gets focus back) and as a normal form otherwise.
   Everything here is also reachable without JavaScript: links, checkboxes and buttons. */
(function () {
  "use strict";

  var results = document.getElementById("results");
  if (!results) return;
  var canAct = results.dataset.canAct === "true";
  var currentTn = null;
  var currentIndex = -1;
  var restoreAfterSwap = false;
  var TEXT_INPUTS = /^(text|search|email|number|password|tel|url|date|datetime-local|month|time|week)$/;

  function rows() {
    return Array.prototype.slice.call(results.querySelectorAll("tr.queue-row"));
  }

  function typing(target) {
    if (!target || !target.tagName) return false;
    if (target.isContentEditable) return true;
    var tag = target.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    return tag === "INPUT" && TEXT_INPUTS.test(target.type || "text");
  }

  function mark(row) {
    rows().forEach(function (r) {
      r.classList.remove("is-current");
      r.removeAttribute("aria-current");
    });
    if (!row) {
      currentTn = null;
      return;
    }
    row.classList.add("is-current");
    row.setAttribute("aria-current", "true");
    currentTn = row.dataset.tn;
    currentIndex = rows().indexOf(row);
  }

  function select(row) {
    mark(row);
    if (row) {
      row.focus();
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function current() {
    var all = rows();
    for (var i = 0; i < all.length; i++) {
      if (all[i].dataset.tn === currentTn) return all[i];
    }
    return null;
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var at = all.indexOf(current());
    var next = at === -1 ? (step > 0 ? 0 : all.length - 1) : at + step;
    select(all[Math.min(all.length - 1, Math.max(0, next))]);
  }

  function open(row) {
    if (row && row.dataset.href) window.location.assign(row.dataset.href);
  }

  function act(action) {
    var row = current();
    var form = document.getElementById("queue-bulk");
    if (!row || !canAct || !form) return;
    if (action === "mark_spam" && !window.confirm(results.dataset.confirmSpam)) return;
    var values = {
      csrfmiddlewaretoken: form.querySelector("input[name=csrfmiddlewaretoken]").value,
      query: form.querySelector("input[name=query]").value,
      action: action,
      items: row.dataset.tn,
      seen: row.dataset.tn + ":" + row.dataset.state,
    };
    if (window.htmx) {
      restoreAfterSwap = true;
      window.htmx.ajax("POST", results.dataset.bulkUrl, {
        target: "#results",
        swap: "innerHTML",
        values: values,
      });
      return;
    }
    var plain = document.createElement("form");
    plain.method = "post";
    plain.action = results.dataset.bulkUrl;
    Object.keys(values).forEach(function (name) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = values[name];
      plain.appendChild(input);
    });
    document.body.appendChild(plain);
    plain.submit();
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    var onRow = event.target && event.target.matches && event.target.matches("tr.queue-row");
    switch (event.key) {
      case "j":
        move(1);
        break;
      case "k":
        move(-1);
        break;
      case "a":
        act("assign_me");
        break;
      case "t":
        act("triage");
        break;
      case "s":
        act("mark_spam");
        break;
      case "o":
        open(current());
        break;
      case "Enter":
        if (!onRow) return;
        open(event.target);
        break;
      case "?":
        var help = document.getElementById("queue-shortcuts");
        if (help) help.open = !help.open;
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  // Focus or a click inside a row makes it the current one (without moving focus).
  results.addEventListener("focusin", function (event) {
    var row = event.target.closest && event.target.closest("tr.queue-row");
    if (row) mark(row);
  });
  results.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("tr.queue-row");
    if (row) mark(row);
  });

  // After a shortcut's action the list is new: put the highlight and focus back on the same
  // item, or on the row now at its place when the item left the list.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target !== results || !restoreAfterSwap) return;
    restoreAfterSwap = false;
    var all = rows();
    var row = current() || all[Math.min(currentIndex, all.length - 1)] || null;
    select(row);
  });

  // The bulk "Mark as spam" button asks first too.
  document.body.addEventListener("htmx:confirm", function (event) {
    var trigger = event.detail.triggeringEvent;
    var submitter = trigger && trigger.submitter;
    if (!submitter || submitter.value !== "mark_spam") return;
    event.preventDefault();
    if (window.confirm(results.dataset.confirmSpam)) event.detail.issueRequest(true);
  });
})();
