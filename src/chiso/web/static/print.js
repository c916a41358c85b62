// Print every data group, folded or not, and fold them back afterwards.
(() => {
  let folded = [];
  addEventListener("beforeprint", () => {
    folded = [...document.querySelectorAll("details:not([open])")];
    folded.forEach((d) => { d.open = true; });
  });
  addEventListener("afterprint", () => { folded.forEach((d) => { d.open = false; }); });
})();
