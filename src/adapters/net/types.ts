// Where a node or BMC address really is. On a real runner this is the identity; the lab maps the LAN
// addresses of the example files onto loopback ones so nothing ever leaves 127.0.0.0/8.
export interface AddressMap {
  map(host: string, port: number): { host: string; port: number }
}

export const identityAddressMap: AddressMap = { map: (host, port) => ({ host, port }) }
