window.onerror = function (msg, src, line) {
  document.documentElement.setAttribute('data-error', String(msg) + ' (line ' + line + ')');
};
