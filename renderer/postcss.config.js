// Every font size in px becomes rem at build time, so the text size setting (the root's
// font size, lib/picture/display.svelte.ts) scales all text, tables included, while the
// components keep writing plain px. Layout sizes stay px.
import pxtorem from 'postcss-pxtorem';

export default {
  plugins: [pxtorem({ rootValue: 16, propList: ['font', 'font-size'], mediaQuery: false })],
};
