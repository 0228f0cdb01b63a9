// Progressive enhancements for the portal. Everything works without this file;
// it adds the show-password toggle, keyboard use of the institution picker, the error
// banner for HTMX requests that fail, focus on what a refused form says, and announces
// what an HTMX swap changed.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  function initPasswordToggles(root) {
    root.querySelectorAll("button.toggle-password").forEach(function (button) {
      button.hidden = false;
      if (button.dataset.bound) return;
      button.dataset.bound = "1";
      button.addEventListener("click", function () {
        var show = button.getAttribute("aria-pressed") !== "true";
        button.dataset.toggles.split(" ").forEach(function (id) {
          var input = document.getElementById(id);
          if (input) input.type = show ? "text" : "password";
        });
        button.setAttribute("aria-pressed", show ? "true" : "false");
        button.textContent = show ? button.dataset.hideLabel || "隱藏密碼" : button.dataset.showLabel || "顯示密碼";
      });
    });
  }

  function pickInstitution(option) {
    var input = document.getElementById("institution_code");
    if (!input) return false;
    input.value = option.dataset.code;
    input.setAttribute("aria-expanded", "false");
    input.focus();
    // Let htmx fetch the confirmed name; the role check follows once it is shown.
    input.dispatchEvent(new Event("search", { bubbles: true }));
    return true;
  }

  // The code of the institution the picker has confirmed ("" when none).
  function confirmedCode() {
    var picked = document.getElementById("institution-name");
    return picked ? picked.dataset.code || "" : "";
  }

  var lastConfirmed = null;

  // Tell the role field when the confirmed institution changes, so that it asks the server
  // again whether 一般使用者 can be chosen there.
  function announceInstitution() {
    var input = document.getElementById("institution_code");
    var code = confirmedCode();
    if (!input || code === lastConfirmed) return;
    var first = lastConfirmed === null;
    lastConfirmed = code;
    if (!first) input.dispatchEvent(new Event("institution-changed", { bubbles: true }));
  }

  function options() {
    return Array.prototype.slice.call(document.querySelectorAll("#institution-results .option"));
  }

  document.addEventListener("click", function (event) {
    var option = event.target.closest && event.target.closest("#institution-results .option");
    if (option && document.getElementById("institution_code") && pickInstitution(option)) {
      event.preventDefault();
    }
  });

  document.addEventListener("keydown", function (event) {
    var list = options();
    if (!list.length) return;
    var index = list.indexOf(document.activeElement);
    var onInput = document.activeElement && document.activeElement.id === "institution_code";
    if (event.key === "ArrowDown" && (onInput || index >= 0)) {
      list[Math.min(index + 1, list.length - 1)].focus();
      event.preventDefault();
    } else if (event.key === "ArrowUp" && index >= 0) {
      if (index === 0) document.getElementById("institution_code").focus();
      else list[index - 1].focus();
      event.preventDefault();
    } else if (event.key === "Escape" && index >= 0) {
      document.getElementById("institution_code").focus();
    }
  });

  // --- The error banner: refusals the server puts there, failures with no answer to show.
  function bannerBox() {
    return document.getElementById("request-error-box");
  }

  function showBanner() {
    var box = bannerBox();
    if (!box) return;
    box.classList.add("shown");
    document.getElementById("request-error-close").hidden = false;
  }

  function clearBanner() {
    var box = bannerBox();
    if (!box || !box.classList.contains("shown")) return;
    box.classList.remove("shown");
    document.getElementById("request-error").textContent = "";
    document.getElementById("request-error-close").hidden = true;
  }

  function sayInBanner(sentence, requestId) {
    var region = document.getElementById("request-error");
    if (!region) return;
    var message = document.createElement("p");
    message.className = "request-error-message";
    message.textContent = sentence;
    if (requestId) {
      // The id of the failed request, for the person to quote: it finds the server's log.
      var reference = document.createElement("span");
      reference.id = "request-id";
      var code = document.createElement("code");
      code.textContent = requestId;
      reference.append(" " + bannerBox().dataset.reference, code);
      message.append(reference);
    }
    region.replaceChildren(message);
    showBanner();
  }

  // A new request makes an old message stale; if it fails too, it says so again.
  document.addEventListener("htmx:beforeRequest", clearBanner);

  // 5xx: htmx swaps nothing (see the htmx-config in base.html).
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    sayInBanner(bannerBox().dataset.serverError, xhr && xhr.getResponseHeader("X-Request-ID"));
  });

  // No answer at all: the connection or the server is down.
  document.addEventListener("htmx:sendError", function () {
    sayInBanner(bannerBox().dataset.networkError);
  });

  document.addEventListener("click", function (event) {
    if (event.target.id === "request-error-close") clearBanner();
  });

  // After a form's answer is swapped in, focus what it says is wrong, as a page load would.
  function focusRefusal(swapped) {
    var first = swapped.querySelector(".error-summary, [aria-invalid='true']");
    if (first) first.focus();
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id === "request-error") {
      showBanner();
      return;
    }
    var config = event.detail.requestConfig;
    if (config && config.elt && config.elt.tagName === "FORM") focusRefusal(event.target);
    initPasswordToggles(document);
    var input = document.getElementById("institution_code");
    if (input && event.target.id === "institution-results") {
      input.setAttribute("aria-expanded", options().length ? "true" : "false");
      announceInstitution();
    }
  });

  // A summary's link goes to the field itself; for a group of choices, to its chosen (or
  // first) input, with the label or legend above still in view.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".error-summary a[href^='#']");
    if (!link) return;
    var target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) return;
    var input = target.matches("input, select, textarea")
      ? target
      : target.querySelector("input:checked, input:not([type=hidden]), select, textarea");
    if (!input) return;
    event.preventDefault();
    (input.closest(".field") || target).scrollIntoView({ block: "start" });
    input.focus({ preventScroll: true });
  });

  // --- Announcing what a swap changed. A fragment names its news in data-announce (a
  // result's count, the state found, the meter's verdict, or, left empty, the element's
  // own text); the page's polite live region,
  // which is never swapped, says it. A live region swapped in with its content is not
  // reliably announced, hence one region that stays.
  function unannounced() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-announce]:not([data-announced])"));
  }

  function announceNews() {
    var region = document.getElementById("live-status");
    var news = unannounced();
    news.forEach(function (element) { element.dataset.announced = "1"; });
    // An empty data-announce says the element's own text.
    var words = news.map(function (element) {
      return element.dataset.announce || element.textContent.replace(/\s+/g, " ").trim();
    }).filter(Boolean);
    if (!region || !words.length) return;
    region.textContent = "";
    // Emptied first, then filled: the same words twice in a row are announced again.
    window.setTimeout(function () { region.textContent = words.join(" "); }, 50);
  }

  // A swap that replaced the focused element ("載入更多" by the rows it loaded) marks where
  // focus goes instead: the first link or button in its data-take-focus element.
  function takeFocus() {
    var place = document.querySelector("[data-take-focus]:not([data-focus-taken])");
    if (!place) return;
    place.dataset.focusTaken = "1";
    var target = place.querySelector("a[href], button, input, select, textarea") || place;
    target.focus();
  }

  document.addEventListener("htmx:afterSettle", function () {
    announceNews();
    takeFocus();
  });

  document.addEventListener("DOMContentLoaded", function () {
    // What the page showed when it loaded is read with the page, not announced, and a page
    // loaded whole keeps the browser's own focus.
    unannounced().forEach(function (element) { element.dataset.announced = "1"; });
    document.querySelectorAll("[data-take-focus]").forEach(function (element) {
      element.dataset.focusTaken = "1";
    });
    initPasswordToggles(document);
    announceInstitution();
    // A refused form: its summary first, so that the person hears what to correct.
    var summary = document.querySelector(".error-summary");
    if (summary) summary.focus();
  });
})();
