// DemoMart storefront script: add-to-cart and live order tracking. No dependencies.
"use strict";

function setCartCount(count) {
  document.querySelectorAll('[data-testid="cart-count"]').forEach(function (el) {
    el.textContent = String(count);
  });
}

function statusFor(button) {
  var scope = button.closest("[data-cart-scope]") || button.closest('[data-testid="product-card"]');
  return scope ? scope.querySelector(".js-cart-status") : null;
}

function addToCart(button) {
  var status = statusFor(button);
  button.disabled = true;
  fetch("/api/cart/items", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "Accept": "application/json" },
    body: JSON.stringify({ sku: button.dataset.sku, qty: 1 })
  }).then(function (response) {
    return response.json().then(function (body) { return { ok: response.ok, body: body }; });
  }).then(function (result) {
    if (result.ok) {
      setCartCount(result.body.count);
      if (status) { status.textContent = "Added"; status.className = status.className.replace(" bad", "") + " good"; }
    } else if (status) {
      status.textContent = (result.body.error && result.body.error.message) || "Could not add to cart";
      status.className = status.className.replace(" good", "") + " bad";
    }
  }).catch(function () {
    if (status) { status.textContent = "Network error, please retry"; }
  }).finally(function () {
    button.disabled = false;
  });
}

document.addEventListener("click", function (event) {
  var button = event.target.closest('[data-testid="add-to-cart"]');
  if (!button || button.disabled) { return; }
  event.preventDefault();
  addToCart(button);
});

function renderOrder(container, order) {
  // Update in place (no reload), so a click on the page is never lost to a navigation.
  var status = container.querySelector('[data-testid="order-status"]');
  if (status) { status.textContent = order.status; }
  var refund = container.querySelector('[data-testid="refund-status"]');
  if (order.refund_status) {
    if (!refund && status) {
      refund = document.createElement("strong");
      refund.setAttribute("data-testid", "refund-status");
      status.parentNode.appendChild(document.createTextNode(" · Refund: "));
      status.parentNode.appendChild(refund);
    }
    if (refund) { refund.textContent = order.refund_status; }
  }
  var eta = container.querySelector('[data-testid="order-eta"]');
  if (eta) {
    eta.textContent = order.eta_minutes ? "Arriving in ~" + order.eta_minutes + " min"
      : (order.status === "DELIVERED" ? "Delivered" : "—");
  }
  var steps = container.querySelector(".steps");
  var shown = container.querySelectorAll('[data-testid="status-step"]').length;
  order.events.slice(shown).forEach(function (event) {
    var item = document.createElement("li");
    item.setAttribute("data-testid", "status-step");
    item.setAttribute("data-state", event.state);
    var words = event.state.toLowerCase().split("_").map(function (w) {
      return w.charAt(0).toUpperCase() + w.slice(1);
    });
    item.textContent = words.join(" ") + " ";
    var time = document.createElement("time");
    time.textContent = event.at.slice(11, 19) + " UTC";
    item.appendChild(time);
    if (steps) { steps.appendChild(item); }
  });
  if (!order.can_cancel) {
    container.querySelectorAll(".js-cancel").forEach(function (form) { form.remove(); });
  }
}

function trackOrder(container) {
  var url = container.dataset.orderUrl;
  var every = Number(container.dataset.orderPoll) || 5000;
  var terminal = ["DELIVERED", "CANCELLED", "PAYMENT_FAILED", "DELIVERY_FAILED"];
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (order) {
        if (!order) { return; }
        renderOrder(container, order);
        if (terminal.indexOf(order.status) === -1 || order.refund_status === "REFUND_INITIATED") {
          window.setTimeout(poll, every);
        }
      })
      .catch(function () { window.setTimeout(poll, every * 2); });
  }
  window.setTimeout(poll, every);
}

document.querySelectorAll("[data-order-poll]").forEach(trackOrder);
