import { describe, expect, test } from '@jest/globals'
import {
  errorText,
  parseAbout,
  parseFlashStatus,
  parseHandle,
  parseInfo,
  parsePower,
  parseSdCard
} from '../../../src/adapters/bmc/parse.js'

describe('bmcd reply parsing (shared/bmc-api.md)', () => {
  test('power values are strings, Unknown maps to unknown', () => {
    expect(parsePower('{"response":[{"result":[{"node1":"1","node2":"0","node3":"Unknown","node4":"0"}]}]}')).toEqual({
      1: 'on',
      2: 'off',
      3: 'unknown',
      4: 'off'
    })
  })
  test('about and info have an object result', () => {
    expect(
      parseAbout(
        '{"response":[{"result":{"board_model":"Turing Pi 2","api":"1.1","version":"2.3.4","bmcd_version":"2.3.7","buildtime":"2025-02-01 10:00:00-00:00"}}]}'
      )
    ).toMatchObject({ model: 'Turing Pi 2', bmcdVersion: '2.3.7' })
    expect(
      parseInfo(
        '{"response":[{"result":{"ip":[{"device":"br0","ip":"10.10.88.70","mac":"aa"}],"storage":[{"name":"BMC","total_bytes":10,"bytes_free":4}]}}]}'
      ).storage
    ).toEqual([{ name: 'BMC', totalBytes: 10, freeBytes: 4 }])
  })
  test('sdcard uses the key "use" for used bytes', () => {
    expect(parseSdCard('{"response":[{"result":[{"total":100,"use":40,"free":60}]}]}')).toEqual({
      total: 100,
      used: 40,
      free: 60
    })
  })
  test('every flash status form', () => {
    expect(parseFlashStatus('"Ready"')).toEqual({ state: 'ready' })
    expect(
      parseFlashStatus(
        '{"Transferring":{"id":42,"process_name":"Node 1 os install service","size":100,"cancelled":false,"bytes_written":150}}'
      )
    ).toEqual({
      state: 'transferring',
      id: 42,
      processName: 'Node 1 os install service',
      size: 100,
      bytesWritten: 150,
      cancelled: false
    })
    expect(parseFlashStatus('{"Done":[{"secs":123,"nanos":500000000},100]}')).toEqual({
      state: 'done',
      seconds: 123.5,
      size: 100
    })
    expect(parseFlashStatus('{"Error":"crc error. expected 1, calculated 2"}')).toEqual({
      state: 'error',
      message: 'crc error. expected 1, calculated 2'
    })
    expect(() => parseFlashStatus('{"Other":1}')).toThrow('not what bmcd 2.x sends')
  })
  test('bare handle JSON and plain-text or enveloped errors', () => {
    expect(parseHandle('{"handle":3735928559}')).toBe(3735928559)
    expect(errorText('missing 12 bytes')).toBe('missing 12 bytes')
    expect(errorText('{"response":[{"result":"Parameter `node` is out of range 0..3 of node IDs"}]}')).toBe(
      'Parameter `node` is out of range 0..3 of node IDs'
    )
  })
})
