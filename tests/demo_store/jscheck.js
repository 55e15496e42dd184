// Runs the storefront script in a minimal fake DOM and clicks an add-to-cart button,
// reporting what a browser would: the fetches made, or the error thrown.
"use strict";
const fs = require("fs");
const source = fs.readFileSync(0, "utf8");
const listeners = {};
const fetches = [];
const button = {
  dataset: { sku: "MLK-001" },
  disabled: false,
  closest(selector) { return selector.indexOf("add-to-cart") >= 0 ? button : null; },
};
global.document = {
  addEventListener(type, fn) { (listeners[type] = listeners[type] || []).push(fn); },
  querySelectorAll() { return []; },
  activeElement: null,
};
global.window = { setTimeout() {}, location: { reload() {} } };
global.fetch = function (url) { fetches.push(url); return new Promise(function () {}); };
function report(phase, error) {
  console.log(JSON.stringify({ phase, error: error ? error.name + ": " + error.message : null, fetches }));
}
try { (0, eval)(source); } catch (error) { report("load", error); process.exit(0); }
try {
  (listeners.click || []).forEach(function (fn) { fn({ target: button, preventDefault() {} }); });
  report("click", null);
} catch (error) { report("click", error); }
