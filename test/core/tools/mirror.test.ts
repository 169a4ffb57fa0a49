import { describe, expect, test } from '@jest/globals'
import { checkMirror } from '../../../src/core/tools/mirror.js'

describe('checkMirror: the mirror is a plain http(s)://host[:port][/path] base', () => {
  test.each([
    ['https://mirror.example', 'https://mirror.example'],
    ['http://127.0.0.1:8080/', 'http://127.0.0.1:8080'],
    ['https://nexus.lan:8443/repository/raw-proxy//', 'https://nexus.lan:8443/repository/raw-proxy'],
    ['http://[fd00::1]:3128/cache', 'http://[fd00::1]:3128/cache'],
    ['https://m.example/a%2Bb/~x_y.z-1', 'https://m.example/a%2Bb/~x_y.z-1']
  ])('accepts %s as %s', (value, base) => {
    expect(checkMirror(value)).toEqual({ mirror: base })
  })

  test.each([
    ['the sed payload of the report', 'http://m#g;e touch /tmp/x;#'],
    ['a command substitution', 'https://m.example/$(id)'],
    ['backticks', 'https://m.example/`id`'],
    ['a quote', "https://m.example/'x"],
    ['a space', 'https://m.example/a b'],
    ['a newline', 'https://m.example/\nrm -rf /'],
    ['credentials', 'https://user:pw@m.example'],
    ['a query', 'https://m.example/?x=1'],
    ['a fragment', 'https://m.example/#x'],
    ['another scheme', 'ftp://m.example'],
    ['no scheme', 'm.example'],
    ['a port out of range', 'https://m.example:70000'],
    ['a stray percent', 'https://m.example/a%zz'],
    ['a semicolon', 'https://m.example;reboot']
  ])('refuses %s', (_, value) => {
    expect(checkMirror(value)).toEqual({
      problem: expect.stringContaining('is not a URL base of the form http(s)://host[:port][/path]')
    })
  })
})
