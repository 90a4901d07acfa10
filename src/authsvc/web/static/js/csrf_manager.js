/*
 * Adds the page's CSRF token (from <meta name="csrf-token">) as the X-CSRF-Token header to
 * fetch() calls that can change state (not GET/HEAD/OPTIONS) on this origin.
 * Forms carry the token in a hidden csrf_token field and need nothing from this script.
 */
(function () {
  "use strict";

  if (typeof window.fetch !== "function") {
    return;
  }

  var SAFE_METHODS = /^(GET|HEAD|OPTIONS|TRACE)$/i;
  var originalFetch = window.fetch.bind(window);

  function currentToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  function isSameOrigin(url) {
    try {
      return new URL(url, window.location.href).origin === window.location.origin;
    } catch (e) {
      return false;
    }
  }

  window.fetch = function (input, init) {
    var isRequest = typeof Request !== "undefined" && input instanceof Request;
    var method = (init && init.method) || (isRequest ? input.method : "GET");
    var url = isRequest ? input.url : String(input);
    var token = currentToken();
    // The token must never leave this origin: a third-party endpoint could replay it here.
    if (!token || SAFE_METHODS.test(method) || !isSameOrigin(url)) {
      return originalFetch(input, init);
    }
    var headers = new Headers((init && init.headers) || (isRequest ? input.headers : undefined));
    if (!headers.has("X-CSRF-Token")) {
      headers.set("X-CSRF-Token", token);
    }
    var options = Object.assign({}, init, { headers: headers });
    if (!options.credentials) {
      options.credentials = "same-origin";
    }
    return originalFetch(input, options);
  };

  window.authsvcCsrfToken = currentToken;
})();
