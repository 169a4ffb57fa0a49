/** Where encrypted credential files go: @actions/artifact in the action, a folder for the CLI. */
export interface ArtifactSink {
  upload(
    name: string,
    files: string[],
    rootDirectory: string,
    options?: { retentionDays?: number }
  ): Promise<UploadedArtifact>
  /**
   * Downloads the artifact with this id into `dir` (unzipped) and returns the paths of its files. Without
   * `from`, only an artifact of the current workflow run is found; with it, any run's artifact of that
   * repository (`owner/name`), read with a token that has actions: read. Absent where artifacts have no ids.
   */
  download?(id: number, dir: string, from?: ArtifactOrigin): Promise<string[]>
}

export interface ArtifactOrigin {
  repository: string
  token: string
}

export interface UploadedArtifact {
  name: string
  id?: number
  size?: number
  /** An artifact of that name from an earlier attempt of this run was replaced. */
  replaced?: boolean
}
