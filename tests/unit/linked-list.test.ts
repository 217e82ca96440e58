import { describe, expect, it } from 'vitest';
import { type Linked, LinkedList } from '../../main/engine/linked-list';

class Entry implements Linked<Entry> {
  prev: Entry | null = null;
  next: Entry | null = null;
  constructor(readonly name: string) {}
}

const names = (list: LinkedList<Entry>) => [...list].map((e) => e.name);

describe('the linked list of waiting and holding borrowers', () => {
  it('keeps entries in order as any of them leaves, and can take them again', () => {
    const list = new LinkedList<Entry>();
    const a = new Entry('a');
    const b = new Entry('b');
    const c = new Entry('c');
    const d = new Entry('d');
    for (const e of [a, b, c, d]) list.push(e);
    expect(names(list)).toEqual(['a', 'b', 'c', 'd']);
    list.remove(b);
    expect(names(list)).toEqual(['a', 'c', 'd']);
    list.remove(a);
    list.remove(d);
    expect(names(list)).toEqual(['c']);
    expect(list.first).toBe(c);
    list.push(a);
    expect(names(list)).toEqual(['c', 'a']);
    list.remove(c);
    list.remove(a);
    expect(list.size).toBe(0);
    expect(list.first).toBeNull();
    list.push(d);
    expect(names(list)).toEqual(['d']);
  });
});
