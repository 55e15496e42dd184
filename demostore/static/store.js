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

function trackOrder(container) {
  var url = container.dataset.orderUrl;
  var every = Number(container.dataset.orderPoll) || 5000;
  var terminal = ["DELIVERED", "CANCELLED", "PAYMENT_FAILED", "DELIVERY_FAILED"];
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (order) {
        if (!order) { return; }
        var shownStatus = container.querySelector('[data-testid="order-status"]');
        var shownRefund = container.querySelector('[data-testid="refund-status"]');
        var steps = container.querySelectorAll('[data-testid="status-step"]').length;
        var changed = shownStatus && shownStatus.textContent !== order.status;
        changed = changed || steps !== order.events.length;
        changed = changed || (shownRefund ? shownRefund.textContent : null) !== order.refund_status;
        // Reload only when nothing is being typed or clicked; the page is the source of truth.
        if (changed && !container.contains(document.activeElement)) { window.location.reload(); return; }
        if (terminal.indexOf(order.status) === -1 || order.refund_status === "REFUND_INITIATED") {
          window.setTimeout(poll, every);
        }
      })
      .catch(function () { window.setTimeout(poll, every * 2); });
  }
  window.setTimeout(poll, every);
}

document.querySelectorAll("[data-order-poll]").forEach(trackOrder);
