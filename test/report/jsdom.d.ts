// The part of jsdom the Mermaid parser helper uses (jsdom ships no types; @types/jsdom would pull in
// the DOM lib for this one constructor).
declare module 'jsdom' {
  export class JSDOM {
    constructor(html: string)
    readonly window: { document: unknown }
  }
}
