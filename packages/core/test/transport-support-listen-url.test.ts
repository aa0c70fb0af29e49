import { describe, expect, it } from 'vitest';
import { type ListenUrlForm, parseListenUrl } from '../src/index.js';

const http: ListenUrlForm = {
  transport: 'HTTP',
  schemes: ['http', 'https'],
  factory: 'httpTransport',
  tls: false,
};
const ws: ListenUrlForm = {
  transport: 'WebSocket',
  schemes: ['ws', 'wss'],
  factory: 'wsTransport',
  tls: false,
};

describe('parseListenUrl', () => {
  it('reads host, port and path; IPv6 without brackets; the scheme default port', () => {
    expect(parseListenUrl('http://0.0.0.0:3000/api/rpc', http)).toEqual({
      secure: false,
      host: '0.0.0.0',
      port: 3000,
      path: '/api/rpc',
    });
    expect(parseListenUrl('ws://[::1]:0/rpc', ws)).toEqual({
      secure: false,
      host: '::1',
      port: 0,
      path: '/rpc',
    });
    expect(parseListenUrl('http://localhost/', http).port).toBe(80);
    expect(parseListenUrl('WSS://localhost/rpc', { ...ws, tls: true })).toEqual({
      secure: true,
      host: 'localhost',
      port: 443,
      path: '/rpc',
    });
  });

  it('says what is wrong, naming the transport and its factory', () => {
    expect(() => parseListenUrl('not a url', http)).toThrow(
      'not an HTTP listen URL (http://host:port/path): not a url',
    );
    expect(() => parseListenUrl('not a url', ws)).toThrow('not a WebSocket listen URL (ws://host:port/path)');
    expect(() => parseListenUrl('http://h:1/rpc', ws)).toThrow(
      'the WebSocket transport listens on ws:// and wss:// URLs, not http: http://h:1/rpc',
    );
    for (const url of ['http://u:p@h:1/rpc', 'http://h:1/rpc?x=1', 'http://h:1/rpc#x'])
      expect(() => parseListenUrl(url, http)).toThrow(
        `an HTTP listen URL has no credentials, query or fragment: ${url}`,
      );
    expect(() => parseListenUrl('https://h:1/rpc', http)).toThrow(
      'an https:// listen URL needs a certificate: httpTransport({ server: { tls: { key, cert } } }) (https://h:1/rpc)',
    );
    expect(() => parseListenUrl('wss://h:1/rpc', ws)).toThrow(
      'a wss:// listen URL needs a certificate: wsTransport(',
    );
    expect(() => parseListenUrl('ws://h:1/rpc', { ...ws, tls: true })).toThrow(
      'server.tls is set, so listen on a wss:// URL, not ws://h:1/rpc',
    );
    expect(() => parseListenUrl('http://h:1/rpc', { ...http, tls: true })).toThrow(TypeError);
  });
});
