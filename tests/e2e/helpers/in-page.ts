// What page functions (page.evaluate, waitForFunction) read of the DOM: tsconfig.node.json
// has no DOM types, rightly for main/, so the e2e suites cast globalThis to these.

export interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { top: number; left: number; bottom: number; right: number; width: number; height: number };
  /** One box per line an inline element takes. */
  getClientRects(): ArrayLike<unknown>;
  closest(selector: string): PageElement | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  scrollIntoView(options: { block: 'nearest' | 'center'; inline: 'nearest' }): void;
  scrollWidth: number;
  clientWidth: number;
  scrollHeight: number;
  clientHeight: number;
  getAnimations(): { playState: string }[];
  classList: { contains(name: string): boolean };
  /** The layout box, before transforms, against the offset parent. */
  offsetLeft: number;
  offsetTop: number;
  offsetWidth: number;
  offsetHeight: number;
}

export interface PageGlobals {
  document: {
    querySelector(selector: string): PageElement | null;
    querySelectorAll(selector: string): ArrayLike<PageElement>;
    activeElement: PageElement | null;
    documentElement: { scrollWidth: number };
    scrollingElement: { scrollWidth: number; clientWidth: number } | null;
    /** whatToShow 4: the text nodes under root. */
    createTreeWalker(root: PageElement, whatToShow: number): { nextNode(): { textContent: string | null; parentElement: PageElement | null } | null };
  };
  innerWidth: number;
  innerHeight: number;
  scrollY: number;
  scrollTo(x: number, y: number): void;
  getComputedStyle(el: PageElement): { fontSize: string; overflowX: string; display: string; opacity: string; transitionDuration: string; textOverflow: string };
}
