// Institution-card verification: ask the local card helper to sign the portal's challenge.
// The PIN goes only to the helper on this computer; the portal receives the certificate
// and the signature. Every sentence shown comes from the page (#card-messages, translated
// with the rest of it); the helper's own sentence is used only for a code the page lacks.
(function () {
  "use strict";

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

  // The sentence for GET /v1/status: readers and whether a card is in one.
  function statusMessage(body) {
    if (!body.readers || body.readers.length === 0) return message("no_reader");
    return message(body.card_present ? "ready" : "no_card");
  }

  function helperMissing() {
    document.getElementById("helper-status").hidden = true;
    document.getElementById("helper-missing").hidden = false;
  }

  function answerOf(response) {
    return response.json().then(function (body) { return { ok: response.ok, body: body }; });
  }

  // On arrival: is the helper running, is a reader attached, is the card in it?
  function checkHelper(form) {
    var status = document.getElementById("helper-status");
    fetch(form.dataset.helperUrl + "/v1/status")
      .then(answerOf)
      .then(function (result) {
        status.textContent = result.ok ? statusMessage(result.body) : errorMessage(result.body);
        status.hidden = false;
      })
      .catch(helperMissing);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("card-form");
    if (!form) return;
    checkHelper(form);
    form.addEventListener("submit", function (event) {
      if (document.getElementById("certificate").value) return; // signed: let it go
      event.preventDefault();
      var pinInput = document.getElementById("pin");
      var pinError = document.getElementById("pin-error");
      var pin = pinInput.value;
      pinError.textContent = "";
      // The lengths the helper accepts, from the page (data-pin-min, data-pin-max).
      if (pin.length < Number(form.dataset.pinMin) || pin.length > Number(form.dataset.pinMax)) {
        pinError.textContent = message("invalid_pin");
        pinInput.focus();
        return;
      }
      document.getElementById("helper-missing").hidden = true;
      var button = document.getElementById("verify-card");
      button.disabled = true;
      fetch(form.dataset.helperUrl + "/v1/sign", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ challenge: form.dataset.challenge, pin: pin })
      })
        .then(answerOf)
        .then(function (result) {
          pinInput.value = "";
          if (!result.ok) {
            button.disabled = false;
            pinError.textContent = errorMessage(result.body);
            pinInput.focus();
            return;
          }
          document.getElementById("certificate").value = result.body.certificate;
          document.getElementById("signature").value = result.body.signature;
          form.submit();
        })
        .catch(function () {
          pinInput.value = "";
          button.disabled = false;
          helperMissing();
        });
    });
  });
})();
