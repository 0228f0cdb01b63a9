// Institution-card verification: ask the local card helper to sign the portal's challenge.
// The PIN goes only to the helper on this computer; the portal receives the certificate
// and the signature.
(function () {
  "use strict";

  function show(id, text) {
    var element = document.getElementById(id);
    if (!element) return;
    if (text !== undefined) element.textContent = text;
    element.hidden = false;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("card-form");
    if (!form) return;
    form.addEventListener("submit", function (event) {
      if (document.getElementById("certificate").value) return; // signed: let it go
      event.preventDefault();
      var pinInput = document.getElementById("pin");
      var pin = pinInput.value;
      document.getElementById("pin-error").textContent = "";
      document.getElementById("helper-missing").hidden = true;
      var button = document.getElementById("verify-card");
      button.disabled = true;
      fetch(form.dataset.helperUrl + "/v1/sign", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ challenge: form.dataset.challenge, pin: pin })
      })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (result) {
          pinInput.value = "";
          if (!result.ok) {
            button.disabled = false;
            show("pin-error", result.body.message || "讀卡失敗");
            return;
          }
          document.getElementById("certificate").value = result.body.certificate;
          document.getElementById("signature").value = result.body.signature;
          form.submit();
        })
        .catch(function () {
          pinInput.value = "";
          button.disabled = false;
          show("helper-missing");
        });
    });
  });
})();
