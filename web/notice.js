// The shell's notice line: what the server refused, shown for a while and
// cleared as soon as another step is shown, where it no longer applies.

const NOTICE_MS = 8000;

export class Notice {
  constructor(element) {
    this.element = element;
    this.timer = null;
  }

  // detail, e.g. the server's own words, goes in the title (a tooltip).
  show(text, detail = "") {
    this.element.textContent = text;
    this.element.title = detail;
    this.element.hidden = false;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.clear(), NOTICE_MS);
  }

  clear() {
    clearTimeout(this.timer);
    this.element.hidden = true;
    this.element.textContent = "";
    this.element.title = "";
  }
}
