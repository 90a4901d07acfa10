/*
 * Live password hints. Reads the rules from the JSON in data-password-policy (the policy the
 * server enforces) and marks each <li data-rule> as met while the user types into the form's
 * [data-password-input]. The server re-checks everything; this is guidance, not a gate.
 */
(function () {
  "use strict";

  var LETTER_UPPER = /\p{Lu}/u;
  var LETTER_LOWER = /\p{Ll}/u;
  var DIGIT = /\p{Nd}/u;
  var SPECIAL = /[^\p{L}\p{N}]/u;
  var MIN_EMAIL_LOCAL_PART = 3;

  function length(text) {
    return Array.from(text).length; // code points, as the server counts
  }

  function emailLocalPart(form) {
    var input = form.querySelector("[data-email-input]");
    var email = input ? input.value : "";
    var at = email.lastIndexOf("@");
    return (at >= 0 ? email.slice(0, at) : email).normalize("NFKC").toLowerCase();
  }

  // true: met, false: not met, null: only the server can tell.
  function check(rule, password, policy, form) {
    switch (rule) {
      case "min_length": return length(password) >= policy.min_length;
      case "max_length": return password.length > 0 && length(password) <= policy.max_length;
      case "upper": return LETTER_UPPER.test(password);
      case "lower": return LETTER_LOWER.test(password);
      case "digits": return DIGIT.test(password);
      case "special": return SPECIAL.test(password);
      case "contains_email": {
        var local = emailLocalPart(form);
        if (!password) { return false; }
        return local.length < MIN_EMAIL_LOCAL_PART || password.toLowerCase().indexOf(local) === -1;
      }
      default: return null;
    }
  }

  function attach(box) {
    var policy;
    try {
      policy = JSON.parse(box.getAttribute("data-password-policy") || "{}");
    } catch (e) {
      return;
    }
    var form = box.closest("form");
    var input = form && form.querySelector("[data-password-input]");
    if (!input) { return; }
    var rules = Array.prototype.slice.call(box.querySelectorAll("li[data-rule]"));
    var summary = box.querySelector("[data-password-summary]");
    var lastCount = -1;

    function update() {
      var password = input.value.normalize("NFKC");
      var checkable = 0;
      var met = 0;
      rules.forEach(function (item) {
        var state = check(item.getAttribute("data-rule"), password, policy, form);
        item.classList.toggle("met", state === true);
        item.classList.toggle("unmet-rule", state === false && password.length > 0);
        if (state !== null) {
          checkable += 1;
          if (state) { met += 1; }
        }
      });
      if (summary && password && met !== lastCount) {
        lastCount = met;
        summary.textContent = met + " of " + checkable + " password requirements met";
      }
    }

    input.addEventListener("input", update);
    var email = form.querySelector("[data-email-input]");
    if (email) { email.addEventListener("input", update); }
    update();
  }

  function start() {
    document.querySelectorAll("[data-password-policy]").forEach(attach);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
