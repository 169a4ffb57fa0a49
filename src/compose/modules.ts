// The phase modules in execution order. Each module's appliesTo() picks the cluster kind, so K3s and
// Talos share the phase names (install, join) without running each other's work. A phase missing
// here is reported as "not available in this build" by run.ts and shown from the static plan.
import { createKube } from '../adapters/kube/exec-kube.js'
import { k3sKind } from '../core/kinds/k3s/kind.js'
import { npuPhase } from '../core/kinds/k3s/npu/index.js'
import { osBootstrapPhase } from '../core/kinds/k3s/os-bootstrap/index.js'
import { talosKind } from '../core/kinds/talos/kind.js'
import { createAddonsPhase } from '../core/phases/addons/index.js'
import { bootPhase } from '../core/phases/boot/module.js'
import { flashPhase } from '../core/phases/flash/module.js'
import type { PhaseModule } from '../core/phases/types.js'
import { k3sUpgradePhase } from '../core/kinds/k3s/upgrade-phase.js'
import { createTalosUpgradePhase } from '../core/kinds/talos/upgrade-phase.js'

export const PHASE_MODULES: PhaseModule[] = [
  flashPhase,
  bootPhase,
  osBootstrapPhase,
  k3sUpgradePhase,
  createTalosUpgradePhase({ createKube }),
  k3sKind.install,
  talosKind.install,
  k3sKind.join,
  talosKind.join,
  createAddonsPhase({ createKube }),
  npuPhase
]
