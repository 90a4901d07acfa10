/*
 * Passkeys on the hosted pages (WebAuthn; the server's options are Level 3 JSON, the answer is
 * PublicKeyCredential.toJSON()). Three parts, each active only when its element is present:
 *   [data-passkey-login]  /login: "Sign in with a passkey" and autofill (conditional mediation)
 *   [data-passkey-mfa]    /login/mfa: the passkey as the second factor
 *   [data-passkey-add]    /account: add a passkey
 * Requests are same-origin urlencoded POSTs; csrf_manager.js adds the X-CSRF-Token header.
 * The server checks everything; this script only carries the ceremony.
 */
(function () {
  "use strict";

  var supported = typeof window.PublicKeyCredential === "function" &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function" &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function";

  function post(url, fields) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" },
      body: new URLSearchParams(fields || {}).toString(),
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          var error = new Error(body.error_description || "That did not work. Please try again.");
          error.server = true;
          throw error;
        }
        return body;
      });
    });
  }

  function showError(box, error) {
    var target = box.querySelector("[data-passkey-error]");
    if (!target) { return; }
    if (error && error.name === "AbortError") { return; }
    var text = error && error.server ? error.message :
      (error && error.name === "NotAllowedError") ? "The passkey request was cancelled or timed out." :
      "That did not work. Please try again.";
    target.textContent = text;
    target.hidden = false;
  }

  function follow(body) {
    if (body && body.redirect) { window.location.assign(body.redirect); }
  }

  // ------------------------------------------------------------------ /login
  function login(box) {
    var button = box.querySelector("[data-passkey-sign-in]");
    var next = box.getAttribute("data-next") || "";
    var pending = null; // the conditional (autofill) request, aborted by the button

    function ask(mediation) {
      return post("/login/passkey/options").then(function (body) {
        var request = { publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(body.options) };
        if (mediation) {
          pending = new AbortController();
          request.mediation = mediation;
          request.signal = pending.signal;
        }
        return navigator.credentials.get(request).then(function (credential) {
          return post("/login/passkey", {
            challenge_id: body.challenge_id,
            credential: JSON.stringify(credential.toJSON()),
            next: next
          });
        });
      }).then(follow);
    }

    button.hidden = false;
    button.addEventListener("click", function () {
      if (pending) { pending.abort(); pending = null; }
      ask(null).catch(function (error) { showError(box, error); });
    });
    if (typeof PublicKeyCredential.isConditionalMediationAvailable === "function") {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (available) {
          ask("conditional").catch(function (error) { showError(box, error); });
        }
      });
    }
  }

  // -------------------------------------------------------------- /login/mfa
  function mfa(form) {
    var button = form.querySelector("[data-passkey-verify]");
    button.hidden = false;
    button.addEventListener("click", function () {
      post("/login/mfa/passkey/options").then(function (body) {
        if (body.redirect) { follow(body); return null; }
        var publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(body.options);
        return navigator.credentials.get({ publicKey: publicKey }).then(function (credential) {
          form.querySelector('input[name="code"]').value = JSON.stringify(credential.toJSON());
          form.submit();
        });
      }).catch(function (error) { showError(form, error); });
    });
  }

  // ----------------------------------------------------------------- /account
  function add(form) {
    form.querySelector("[data-passkey-create]").hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var password = form.querySelector('input[name="current_password"]');
      var name = form.querySelector('input[name="name"]');
      var fields = password && password.value ? { current_password: password.value } : {};
      post("/account/passkeys/options", fields).then(function (body) {
        var publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(body.options);
        return navigator.credentials.create({ publicKey: publicKey });
      }).then(function (credential) {
        return post("/account/passkeys", {
          credential: JSON.stringify(credential.toJSON()),
          name: name ? name.value : ""
        });
      }).then(follow).catch(function (error) { showError(form, error); });
    });
  }

  function start() {
    if (!supported) { return; } // the buttons stay hidden: passwords and codes still work
    document.querySelectorAll("[data-passkey-login]").forEach(login);
    document.querySelectorAll("[data-passkey-mfa]").forEach(mfa);
    document.querySelectorAll("[data-passkey-add]").forEach(add);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
