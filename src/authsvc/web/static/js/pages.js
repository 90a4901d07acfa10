/* Small enhancements of the hosted pages; every page works without them.
 * - a show/hide button after each password field;
 * - "Copy the codes" and "Download as a text file" for fresh recovery codes (the buttons are
 *   hidden until this script shows them).
 * Labels come from data attributes of <body> (translated on the server); no inline script. */
(function () {
  "use strict";
  var body = document.body;
  var label = function (name, fallback) { return body.getAttribute("data-label-" + name) || fallback; };

  function addToggle(input, index) {
    if (!input.id) { input.id = "password-field-" + index; }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button-link password-toggle";
    button.setAttribute("aria-controls", input.id);
    button.setAttribute("aria-pressed", "false");
    button.textContent = label("show-password", "Show password");
    button.addEventListener("click", function () {
      var show = input.type === "password";
      input.type = show ? "text" : "password";
      button.setAttribute("aria-pressed", show ? "true" : "false");
      button.textContent = show ? label("hide-password", "Hide password")
                                : label("show-password", "Show password");
      input.focus();
    });
    input.insertAdjacentElement("afterend", button);
    // Never submit a visible password field: hide it again before the form leaves.
    if (input.form) {
      input.form.addEventListener("submit", function () { input.type = "password"; });
    }
  }

  function codesOf(id) {
    var list = document.getElementById(id);
    if (!list) { return null; }
    return Array.prototype.map.call(list.querySelectorAll("code"), function (c) {
      return c.textContent.trim();
    });
  }

  function addDownload(button) {
    var codes = codesOf(button.getAttribute("data-download-codes"));
    if (!codes || !window.Blob || !window.URL) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var url = URL.createObjectURL(new Blob([codes.join("\r\n") + "\r\n"], { type: "text/plain" }));
      var link = document.createElement("a");
      link.href = url;
      link.download = button.getAttribute("data-filename") || "recovery-codes.txt";
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    });
  }

  function addCopy(button) {
    var codes = codesOf(button.getAttribute("data-copy-codes"));
    var status = button.parentNode.querySelector("[data-copy-status]");
    if (!codes || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(codes.join("\n")).then(function () {
        if (status) { status.textContent = label("copied", "Copied."); }
      }, function () {
        if (status) { status.textContent = label("copy-failed", "Could not copy; select the codes instead."); }
      });
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll('input[type="password"]'), addToggle);
    Array.prototype.forEach.call(document.querySelectorAll("[data-copy-codes]"), addCopy);
    Array.prototype.forEach.call(document.querySelectorAll("[data-download-codes]"), addDownload);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
