// otpgate: small conveniences for pages that work without this script.
// Buttons marked data-copy or data-print are hidden until it runs.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var status = document.getElementById("copy-status");
  function say(msg) { if (status) { status.textContent = msg; } }
  document.querySelectorAll("[data-copy]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () {
      var el = document.getElementById(b.getAttribute("data-copy"));
      if (!el) { return; }
      var items = el.querySelectorAll("li");
      if (el.dataset.copyText) { items = []; }
      var text = items.length ? Array.prototype.map.call(items, function (li) { return li.textContent.trim(); }).join("\n") : el.textContent.trim();
      if (el.dataset.copyText) { text = el.dataset.copyText; }
      var done = function () { say("Copied."); b.textContent = b.getAttribute("data-copied") || "Copied"; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { say("Could not copy: select the text and copy it."); });
        return;
      }
      var ta = document.createElement("textarea");
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      try { if (document.execCommand("copy")) { done(); } } catch (e) { say("Could not copy: select the text and copy it."); }
      document.body.removeChild(ta);
    });
  });
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  });
});
