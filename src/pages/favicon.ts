/**
 * The pages' icon: a tether — two linked dots — as an inline SVG, so it costs no
 * request and no file. `<link rel="icon" href="/favicon.svg">` in each page, and
 * `/favicon.ico` for browsers that ask for it anyway.
 */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect width="32" height="32" rx="7" fill="#1d2330"/>
<path d="M9 23 C 13 9, 19 23, 23 9" stroke="#7fd4a4" stroke-width="2.5" fill="none" stroke-linecap="round"/>
<circle cx="9" cy="23" r="4" fill="#1f9d55"/><circle cx="23" cy="9" r="4" fill="#2f6fd6"/>
</svg>`;
