// MathJax settings for pymdownx.arithmatex's generic mode (mkdocs.yml): typeset only the
// \( \) and \[ \] spans it marks, and nothing else on the page.  Loaded before MathJax itself,
// which the build copies into the site (tools/docs/hooks.py): no CDN.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
};
