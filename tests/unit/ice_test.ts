import assert from "node:assert/strict";
import { parseConfig } from "../../lib/config/load.ts";
import { type WebrtcConfig } from "../../lib/config/schema.ts";
import {
  candidateTypes,
  type HostInterface,
  type IceOptions,
  iceServerLinks,
  parseIceServerLinks,
  peerIceOptions,
} from "../../lib/webrtc/ice.ts";

/** The `[webrtc]` section of a TOML snippet, validated as the service does. */
function webrtc(toml: string): WebrtcConfig {
  return parseConfig(`[webrtc]\n${toml}`).webrtc;
}

/** This machine's kind of interface list: loopback, a LAN card with IPv6 too, docker, a link-local. */
const INTERFACES: HostInterface[] = [
  { name: "lo", family: "IPv4", address: "127.0.0.1" },
  { name: "eth0", family: "IPv4", address: "192.168.1.20" },
  { name: "eth0", family: "IPv6", address: "fd00::2" },
  { name: "wlan0", family: "IPv4", address: "192.168.1.21" },
  { name: "docker0", family: "IPv4", address: "172.17.0.1" },
  { name: "usb0", family: "IPv4", address: "169.254.7.7" },
];

const DEFAULTS: IceOptions = {
  iceServers: [],
  icePortRange: undefined,
  iceUseIpv4: false,
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ["127.0.0.1", "192.168.1.20", "192.168.1.21", "172.17.0.1"],
};

Deno.test("peerIceOptions maps [webrtc] and the public IP onto werift's options", async (t) => {
  const cases: [string, string, string, Partial<IceOptions>][] = [
    ["defaults: every IPv4 interface but link-local, any port, no servers", "", "", {}],
    ["include list", `interfaces_include = ["eth0", "lo"]`, "", {
      iceAdditionalHostAddresses: ["127.0.0.1", "192.168.1.20"],
    }],
    ["exclude list", `interfaces_exclude = ["docker0", "lo"]`, "", {
      iceAdditionalHostAddresses: ["192.168.1.20", "192.168.1.21"],
    }],
    [
      "exclude applies after include",
      `interfaces_include = ["eth0", "wlan0"]\ninterfaces_exclude = ["wlan0"]`,
      "",
      {
        iceAdditionalHostAddresses: ["192.168.1.20"],
      },
    ],
    [
      "an include naming no present interface leaves only the public IP",
      `interfaces_include = ["eth9"]`,
      "203.0.113.7",
      {
        iceAdditionalHostAddresses: ["203.0.113.7"],
      },
    ],
    ["the public IP is an extra host candidate", "", "203.0.113.7", {
      iceAdditionalHostAddresses: [...DEFAULTS.iceAdditionalHostAddresses!, "203.0.113.7"],
    }],
    [
      "a public IP that is a local address is not offered twice",
      `interfaces_include = ["eth0"]`,
      "192.168.1.20",
      {
        iceAdditionalHostAddresses: ["192.168.1.20"],
      },
    ],
    ["port range", "udp_port_min = 40000\nudp_port_max = 40100", "", { icePortRange: [40000, 40100] }],
    [
      "STUN without credentials, TURN with them",
      `[[webrtc.ice_servers]]\nurls = "stun:stun.example.org"\n` +
      `[[webrtc.ice_servers]]\nurls = ["turn:t.example:3478", "turns:t.example"]\nusername = "u"\ncredential = "p"`,
      "",
      {
        iceServers: [
          { urls: ["stun:stun.example.org"] },
          { urls: ["turn:t.example:3478", "turns:t.example"], username: "u", credential: "p" },
        ],
      },
    ],
  ];
  for (const [name, toml, publicIp, expected] of cases) {
    await t.step(name, () => {
      assert.deepEqual(peerIceOptions(webrtc(toml), publicIp, INTERFACES), { ...DEFAULTS, ...expected });
    });
  }
});

Deno.test("iceServerLinks: one Link value per URL, TURN ones with password credentials", async (t) => {
  const cases: [string, string, string[]][] = [
    ["none configured", "", []],
    ["STUN", `[[webrtc.ice_servers]]\nurls = "stun:stun.example.org:3478"`, [
      `<stun:stun.example.org:3478>; rel="ice-server"`,
    ]],
    [
      "TURN with two URLs",
      `[[webrtc.ice_servers]]\nurls = ["turn:t.example:3478?transport=udp", "turns:t.example:5349"]\n` +
      `username = "edgecam"\ncredential = "s3cret"`,
      [
        `<turn:t.example:3478?transport=udp>; rel="ice-server"; username="edgecam"; credential="s3cret"; credential-type="password"`,
        `<turns:t.example:5349>; rel="ice-server"; username="edgecam"; credential="s3cret"; credential-type="password"`,
      ],
    ],
  ];
  for (const [name, toml, expected] of cases) {
    await t.step(name, () => assert.deepEqual(iceServerLinks(webrtc(toml).iceServers), expected));
  }
});

Deno.test("parseIceServerLinks reads back what iceServerLinks announces, and ignores other rels", () => {
  const links = iceServerLinks([
    { urls: ["stun:stun.example.org:3478"], username: "", credential: "" },
    { urls: ["turn:turn.example.org:3478?transport=udp"], username: "edgecam", credential: "s3cret" },
  ]);
  const header = [...links, `<https://example.org/ext>; rel="urn:ietf:params:whip:ext:example"`].join(", ");
  assert.deepEqual(parseIceServerLinks(header), [
    { urls: "stun:stun.example.org:3478" },
    { urls: "turn:turn.example.org:3478?transport=udp", username: "edgecam", credential: "s3cret" },
  ]);
  assert.deepEqual(parseIceServerLinks(null), []);
  assert.deepEqual(parseIceServerLinks("garbage"), []);
});

Deno.test("candidateTypes counts an SDP's candidates by type, across m-lines", async (t) => {
  const cases: [string, string, Record<string, number>][] = [
    ["no candidates", "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n", {}],
    [
      "host, srflx and relay",
      [
        "m=video 9 UDP/TLS/RTP/SAVPF 96",
        "a=candidate:1 1 udp 2130706431 192.168.1.20 50000 typ host",
        "a=candidate:2 1 udp 2130706431 127.0.0.1 50001 typ host",
        "a=candidate:3 1 udp 1694498815 203.0.113.7 50000 typ srflx raddr 192.168.1.20 rport 50000",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "a=candidate:4 1 udp 16777215 198.51.100.2 61000 typ relay raddr 203.0.113.7 rport 50000",
        "a=end-of-candidates",
      ].join("\r\n"),
      { host: 2, srflx: 1, relay: 1 },
    ],
    [
      "LF line ends",
      "a=candidate:1 1 udp 1 10.0.0.1 1 typ host\na=candidate:2 1 udp 1 10.0.0.1 2 typ host\n",
      {
        host: 2,
      },
    ],
  ];
  for (const [name, sdp, expected] of cases) {
    await t.step(name, () => assert.deepEqual(candidateTypes(sdp), expected));
  }
});
