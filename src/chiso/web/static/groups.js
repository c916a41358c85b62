// The data groups of the dashboard: a link to a group (#g-…) opens it even when it was folded,
// and printing prints every group, folding the folded ones back afterwards.
(() => {
  const openTarget = () => {
    const id = decodeURIComponent(location.hash.slice(1));
    const target = id && document.getElementById(id);
    if (target instanceof HTMLDetailsElement) target.open = true;
  };
  addEventListener("hashchange", openTarget);
  openTarget();
  let folded = [];
  addEventListener("beforeprint", () => {
    folded = [...document.querySelectorAll("details:not([open])")];
    folded.forEach((d) => { d.open = true; });
  });
  addEventListener("afterprint", () => { folded.forEach((d) => { d.open = false; }); });
})();
