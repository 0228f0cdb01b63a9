// Institution-card verification: ask the local card helper to sign the portal's challenge.
// The PIN goes only to the helper on this computer; the portal receives the certificate
// and the signature. Every sentence shown comes from the page (#card-messages, translated
// with the rest of it); the helper's own sentence is used only for a code the page lacks.
// The PIN field and the button stay disabled until the helper says a card is ready; until
// then the page asks the helper again by itself, waiting longer each time (up to MAX_WAIT).
(function () {
  "use strict";

  var FIRST_WAIT = 1000;
  var MAX_WAIT = 5000;

  function message(code, fallback) {
    var item = document.querySelector('#card-messages [data-code="' + code + '"]');
    if (item) return item.textContent;
    return fallback || (code === "failed" ? "" : message("failed"));
  }

  // The sentence for one of the helper's error bodies: {error, message, tries_left?}.
  function errorMessage(body) {
    if (body.error === "wrong_pin" && typeof body.tries_left === "number") {
      return message("wrong_pin_tries").replace("{tries}", String(body.tries_left));
    }
    return message(body.error, body.message);
  }

  // GET /v1/status's state; helpers before 1.1 sent only readers and card_present.
  function stateOf(body) {
    if (body.state) return body.state;
    if (!body.readers || body.readers.length === 0) return "no_reader";
    return body.card_present ? "ready" : "no_card";
  }

  // Whether dotted version `found` is older than `expected` ("1.0.0" < "1.1.0").
  function older(found, expected) {
    var a = String(found || "0").split("."), b = String(expected || "0").split(".");
    for (var i = 0; i < Math.max(a.length, b.length); i++) {
      var x = parseInt(a[i] || "0", 10) || 0, y = parseInt(b[i] || "0", 10) || 0;
      if (x !== y) return x < y;
    }
    return false;
  }

  function answerOf(response) {
    return response.json().then(function (body) { return { ok: response.ok, body: body }; });
  }

  function CardPage(form) {
    this.form = form;
    this.pin = document.getElementById("pin");
    this.button = document.getElementById("verify-card");
    this.status = document.getElementById("helper-status");
    this.missing = document.getElementById("helper-missing");
    this.old = document.getElementById("helper-old");
    this.oldText = document.getElementById("helper-old-version").textContent;
    this.wait = FIRST_WAIT;
    this.timer = null;
    this.signing = false;
  }

  CardPage.prototype.usable = function (yes) {
    this.pin.disabled = !yes;
    this.button.disabled = !yes;
  };

  // Show one of: the status line, the "not installed" box, the "too old" box.
  CardPage.prototype.show = function (which, text) {
    this.status.hidden = which !== "status";
    this.missing.hidden = which !== "missing";
    this.old.hidden = which !== "old";
    if (which === "status") this.status.textContent = text;
  };

  // Ask again later, each time a little later, until the card is ready.
  CardPage.prototype.later = function () {
    var page = this;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { page.check(); }, this.wait);
    this.wait = Math.min(this.wait * 2, MAX_WAIT);
  };

  CardPage.prototype.check = function () {
    var page = this;
    if (this.signing) return;
    fetch(this.form.dataset.helperUrl + "/v1/status", { cache: "no-store" })
      .then(answerOf)
      .then(function (result) { page.answered(result); })
      .catch(function () {
        page.usable(false);
        page.show("missing");
        page.later();
      });
  };

  CardPage.prototype.answered = function (result) {
    var body = result.body;
    var expected = this.form.dataset.helperMinVersion;
    if (older(body.version, expected)) {
      this.usable(false);
      document.getElementById("helper-old-version").textContent =
        this.oldText.replace("{found}", body.version || "?");
      this.show("old");
      this.later();
      return;
    }
    var state = result.ok ? stateOf(body) : body.error;
    this.show("status", result.ok ? message(state) : errorMessage(body));
    if (state === "ready") {
      var wasDisabled = this.pin.disabled;
      this.usable(true);
      this.wait = FIRST_WAIT;
      if (wasDisabled) this.pin.focus();
    } else {
      this.usable(false);
      this.later();
    }
  };

  CardPage.prototype.sign = function (pin) {
    var page = this, pinError = document.getElementById("pin-error");
    this.signing = true;
    this.usable(false);
    fetch(this.form.dataset.helperUrl + "/v1/sign", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ challenge: this.form.dataset.challenge, pin: pin })
    })
      .then(answerOf)
      .then(function (result) {
        page.signing = false;
        page.pin.value = "";
        if (result.ok) {
          document.getElementById("certificate").value = result.body.certificate;
          document.getElementById("signature").value = result.body.signature;
          page.form.submit();
          return;
        }
        var code = result.body.error;
        pinError.textContent = errorMessage(result.body);
        // "Ready" no longer holds for a locked card or another kind of card: say only why not.
        if (code === "pin_blocked" || code === "wrong_card") page.status.hidden = true;
        if (code === "pin_blocked") return; // nothing more to try with this card
        page.usable(true);
        page.pin.focus();
        // The reader or the card went away: watch for them, as on arrival.
        if (["no_reader", "no_card", "card_removed"].indexOf(code) >= 0) {
          page.wait = FIRST_WAIT;
          page.later();
        }
      })
      .catch(function () {
        page.signing = false;
        page.pin.value = "";
        page.usable(false);
        page.show("missing");
        page.wait = FIRST_WAIT;
        page.later();
      });
  };

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("card-form");
    if (!form) return;
    var page = new CardPage(form);
    page.check();
    form.addEventListener("submit", function (event) {
      if (document.getElementById("certificate").value) return; // signed: let it go
      event.preventDefault();
      var pinError = document.getElementById("pin-error");
      var pin = page.pin.value;
      pinError.textContent = "";
      // The lengths the helper accepts, from the page (data-pin-min, data-pin-max).
      if (pin.length < Number(form.dataset.pinMin) || pin.length > Number(form.dataset.pinMax)) {
        pinError.textContent = message("invalid_pin");
        page.pin.focus();
        return;
      }
      page.sign(pin);
    });
  });
})();
