// What page functions (page.evaluate, waitForFunction) read of the DOM: tsconfig.node.json
// has no DOM types, rightly for main/, so the e2e suites cast globalThis to these.

export interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { top: number; left: number; bottom: number; right: number; width: number; height: number };
  closest(selector: string): PageElement | null;
  scrollWidth: number;
  clientWidth: number;
}

export interface PageGlobals {
  document: {
    querySelector(selector: string): PageElement | null;
    querySelectorAll(selector: string): ArrayLike<PageElement>;
    activeElement: PageElement | null;
    documentElement: { scrollWidth: number };
  };
  innerWidth: number;
  innerHeight: number;
  scrollY: number;
  getComputedStyle(el: PageElement): { fontSize: string };
}
