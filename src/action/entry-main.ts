// What GitHub runs (bundled to dist/main): main.ts only exports run(), so tools that import it, such as
// GitHub's local-action, run the action once and not twice.
import { run } from './main.js'

await run()
