/** Where encrypted credential files go: @actions/artifact in the action, a folder for the CLI. */
export interface ArtifactSink {
  upload(
    name: string,
    files: string[],
    rootDirectory: string,
    options?: { retentionDays?: number }
  ): Promise<UploadedArtifact>
}

export interface UploadedArtifact {
  name: string
  id?: number
  size?: number
  /** An artifact of that name from an earlier attempt of this run was replaced. */
  replaced?: boolean
}
