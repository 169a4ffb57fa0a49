// What GitHub runs as the post step (bundled to dist/post); post.ts only exports run().
import { run } from './post.js'

await run()
