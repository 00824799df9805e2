import { allowedDistance, bestCorrection, damerauDistance } from '../../read-models/product-search/spelling';

describe('product search spelling correction', () => {
  it('counts a swap of two neighbouring letters as one edit', () => {
    expect(damerauDistance('chiar', 'chair')).toBe(1);
    expect(damerauDistance('keybord', 'keyboard')).toBe(1);
    expect(damerauDistance('lamp', 'lamp')).toBe(0);
    expect(damerauDistance('ergnomc', 'ergonomic')).toBe(2);
    expect(damerauDistance('', 'abc')).toBe(3);
  });

  it('corrects to the nearest word, the commoner one on a tie', () => {
    const candidates = [
      { word: 'char', occurrences: 1 },
      { word: 'chair', occurrences: 900 },
      { word: 'choir', occurrences: 3 },
    ];
    // "char" and "chair" are both one edit from "chiar": the commoner wins.
    expect(bestCorrection('chiar', candidates)).toBe('chair');
    expect(bestCorrection('keybord', [{ word: 'keyboard', occurrences: 5 }])).toBe('keyboard');
  });

  it('leaves short words and far-off words alone', () => {
    expect(allowedDistance('hat')).toBe(0);
    expect(bestCorrection('hat', [{ word: 'hot', occurrences: 9 }])).toBeUndefined();
    expect(bestCorrection('lamp', [{ word: 'lump', occurrences: 9 }])).toBe('lump');
    expect(bestCorrection('lamp', [{ word: 'limb', occurrences: 9 }])).toBeUndefined();
    expect(bestCorrection('tabel', [{ word: 'towels', occurrences: 9 }])).toBeUndefined();
  });
});
