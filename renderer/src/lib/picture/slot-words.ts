// A slot's state in words (large tiles, tooltips, groups) and as one letter (small tiles):
// the picture never says a state by colour alone.

import type { SlotState } from './picture';

export const SLOT_WORD: Record<SlotState, string> = {
  empty: 'empty',
  connecting: 'connecting',
  idle: 'idle',
  borrowed: 'borrowed',
  'in-transaction': 'in transaction',
  'in-failed-transaction': 'failed tx',
  closing: 'closing',
  broken: 'broken',
  closed: 'closed',
};

export const SLOT_LETTER: Record<SlotState, string> = {
  empty: '',
  connecting: 'c',
  idle: 'i',
  borrowed: 'B',
  'in-transaction': 'T',
  'in-failed-transaction': 'F',
  closing: 'x',
  broken: 'X',
  closed: '',
};
