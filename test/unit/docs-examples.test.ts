/**
 * The JSON examples in the documentation are what an outside developer copies first (a client in
 * another language is written from docs/protocol.md alone): each ```json block must be one JSON
 * value, and every fence must close — an unclosed one turns the sections after it into code
 * (§6.11's history example once ran into §6.12's heading, and the fences paired wrongly to the
 * end of the file). A link to a section must land on it: `client.md#reconnecting` and errors.md's
 * `protocol.md#error` once named headings that had been renamed, and opened the page at its top.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const files = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

interface Block {
  line: number;
  lang: string;
  text: string;
}

/** The fenced blocks of a Markdown file, and the line of a fence left open at its end. */
function blocks(markdown: string): { blocks: Block[]; unclosed?: number } {
  const found: Block[] = [];
  let open: { line: number; fence: string; lang: string; body: string[] } | undefined;
  markdown.split('\n').forEach((raw, index) => {
    const line = raw.trimStart();
    if (!open) {
      const fence = /^(`{3,}|~{3,})(.*)$/.exec(line);
      if (fence)
        open = { line: index + 1, fence: fence[1] as string, lang: (fence[2] as string).trim(), body: [] };
    } else if (line.trimEnd() === open.fence) {
      found.push({ line: open.line, lang: open.lang, text: open.body.join('\n') });
      open = undefined;
    } else open.body.push(raw);
  });
  return { blocks: found, unclosed: open?.line };
}

describe('the documentation’s code blocks', () => {
  it.each(files)('%s closes every fence, and each json block parses', (file) => {
    const { blocks: found, unclosed } = blocks(readFileSync(join(root, file), 'utf8'));
    expect(unclosed, `${file}: a fence opened on line ${unclosed} never closes`).toBeUndefined();
    const invalid = found
      .filter((block) => block.lang === 'json')
      .flatMap((block) => {
        try {
          JSON.parse(block.text);
          return [];
        } catch (error) {
          return [`${file}:${block.line}: ${(error as Error).message}`];
        }
      });
    expect(invalid).toEqual([]);
  });
});

/** The anchors GitHub gives a Markdown file's headings outside code blocks: lower case, punctuation dropped, spaces as `-`, a repeat numbered. */
function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  let fence: string | undefined;
  for (const raw of markdown.split('\n')) {
    const line = raw.trimStart();
    if (fence) {
      if (line.trimEnd() === fence) fence = undefined;
      continue;
    }
    fence = /^(`{3,}|~{3,})/.exec(line)?.[1];
    const heading = /^#{1,6} (.*)$/.exec(raw);
    if (fence || !heading) continue;
    const base = (heading[1] as string)
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    let slug = base;
    for (let n = 1; found.has(slug); n++) slug = `${base}-${n}`;
    found.add(slug);
  }
  return found;
}

describe('the documentation’s links to sections', () => {
  it.each(files)('%s links only to headings that exist', (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const broken = [...text.matchAll(/\]\(([^)\s#]*)#([^)\s]+)\)/g)].flatMap((link) => {
      const target = link[1] ? normalize(join(dirname(file), link[1] as string)) : file;
      if (!target.endsWith('.md') || !existsSync(join(root, target))) return [];
      const known = anchors(readFileSync(join(root, target), 'utf8'));
      return known.has(link[2] as string) ? [] : [`${file}: ${link[1]}#${link[2]}`];
    });
    expect(broken).toEqual([]);
  });
});
