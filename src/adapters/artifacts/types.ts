/** Where encrypted credential files go: @actions/artifact in the action, a folder for the CLI. */
export interface ArtifactSink {
  upload(name: string, files: string[], rootDirectory: string, options?: { retentionDays?: number }): Promise<{ name: string; id?: number; size?: number }>
}
