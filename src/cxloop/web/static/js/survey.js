// The public survey page: skip logic, saving progress, and a required-question check before submit.
// Plain JavaScript on top of a form that works without it (the server applies the same rules).
(function () {
  "use strict";

  function valueOf(form, name) {
    var checked = form.querySelector('input[name="' + name + '"]:checked');
    return checked ? parseInt(checked.value, 10) : null;
  }

  function applySkipLogic(form) {
    var blocks = form.querySelectorAll("[data-show-question]");
    Array.prototype.forEach.call(blocks, function (block) {
      var value = valueOf(form, block.getAttribute("data-show-question"));
      var min = block.getAttribute("data-show-min");
      var max = block.getAttribute("data-show-max");
      var show = value !== null && !isNaN(value) &&
        (min === null || value >= parseInt(min, 10)) && (max === null || value <= parseInt(max, 10));
      block.classList.toggle("is-hidden", !show);
      block.hidden = false;
    });
  }

  function answers(form) {
    var out = {};
    Array.prototype.forEach.call(form.querySelectorAll("[data-question]"), function (block) {
      if (block.classList.contains("is-hidden")) { return; }
      var name = block.getAttribute("data-question");
      var fields = block.querySelectorAll("[name]");
      var values = [];
      Array.prototype.forEach.call(fields, function (field) {
        if ((field.type === "radio" || field.type === "checkbox") && !field.checked) { return; }
        if (field.value !== "") { values.push(field.value); }
      });
      if (values.length === 0) { return; }
      var multiple = block.querySelector('input[type="checkbox"]') !== null;
      out[name] = multiple ? values : values[0];
    });
    return out;
  }

  function saver(form) {
    var url = form.getAttribute("data-progress");
    var status = form.querySelector(".survey-status");
    var timer = null;
    var last = "";
    function body() { return JSON.stringify({ answers: answers(form) }); }
    function save() {
      timer = null;
      var payload = body();
      if (payload === last) { return; }
      last = payload;
      fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: payload,
        credentials: "same-origin", keepalive: true })
        .then(function (response) {
          if (response.ok && status) { status.textContent = status.getAttribute("data-saved-text"); }
        })
        .catch(function () { last = ""; });
    }
    return {
      soon: function () { if (timer) { clearTimeout(timer); } timer = setTimeout(save, 600); },
      now: function () {
        if (timer) { clearTimeout(timer); timer = null; }
        var payload = body();
        if (payload === last) { return; }
        last = payload;
        // sendBeacon survives the page being closed; fetch keepalive is the fallback.
        var blob = new Blob([payload], { type: "application/json" });
        if (!(navigator.sendBeacon && navigator.sendBeacon(url, blob))) { save(); }
      },
      cancel: function () { if (timer) { clearTimeout(timer); timer = null; } last = body(); }
    };
  }

  function checkRequired(form) {
    var first = null;
    var message = (form.querySelector(".survey-status") || {}).getAttribute
      ? form.querySelector(".survey-status").getAttribute("data-required-text") : "";
    Array.prototype.forEach.call(form.querySelectorAll("[data-question]"), function (block) {
      var error = block.querySelector(".question-error");
      var required = block.querySelector("[required]") !== null;
      var missing = required && !block.classList.contains("is-hidden") &&
        !answers(form).hasOwnProperty(block.getAttribute("data-question"));
      block.classList.toggle("has-error", missing);
      if (error) { error.hidden = !missing; if (missing) { error.textContent = message; } }
      if (missing && !first) { first = block; }
    });
    if (first) {
      var input = first.querySelector("input, textarea");
      if (input) { input.focus(); }
      return false;
    }
    return true;
  }

  function init(form) {
    if (form.getAttribute("data-ready")) { return; }
    form.setAttribute("data-ready", "1");
    applySkipLogic(form);
    var preview = form.hasAttribute("data-preview");
    var save = preview ? null : saver(form);
    form.addEventListener("change", function () {
      applySkipLogic(form);
      if (save) { save.soon(); }
    });
    form.addEventListener("input", function (event) {
      if (save && event.target.tagName === "TEXTAREA") { save.soon(); }
    });
    form.addEventListener("submit", function (event) {
      if (preview || !checkRequired(form)) { event.preventDefault(); return; }
      // Fields the skip logic hid are not sent (the server ignores them anyway).
      Array.prototype.forEach.call(form.querySelectorAll(".is-hidden [name]"), function (field) {
        field.disabled = true;
      });
      if (save) { save.cancel(); }
    });
    if (save) {
      document.addEventListener("visibilitychange", function () {
        if (document.visibilityState === "hidden") { save.now(); }
      });
      window.addEventListener("pagehide", function () { save.now(); });
    }
  }

  function initAll(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("form.survey-form"), init);
  }

  document.addEventListener("DOMContentLoaded", function () { initAll(document); });
  // The editor's live preview is swapped in by htmx.
  document.addEventListener("htmx:afterSettle", function (event) { initAll(event.target); });
})();
