//! Documents embedded gzip-compressed (RFC 1952): the OpenAPI document (4.8 KB instead of
//! 38.7 KB), the portal's stylesheet and script (3.0 and 2.8 KB instead of 8.6 and 8.2 KB). That
//! much less `.wasm`, and less of the data image Spin copies into every request's instance. Each
//! is sent as it is to a client that accepts gzip (every browser), with less to download, and
//! inflated here for one that does not: an app's build that fetches the OpenAPI document with a
//! bare `curl` gets JSON, not compressed bytes.
//!
//! The only inputs ever inflated are those constants, each checked byte for byte against its
//! source file by the tests (regenerate one with `gzip -9 -n -c FILE > FILE.gz`); still,
//! malformed data (truncated, a bad header, codes that do not form a Huffman code, a distance
//! before the start) ends in `None`, never a panic or a read out of bounds.

use http::{HeaderValue, Response, header};

/// The answer for an embedded gzip member: as it is, with `Content-Encoding: gzip`, when the
/// request's `Accept-Encoding` accepts gzip, inflated otherwise; `Vary: Accept-Encoding` either
/// way. `None` only if the member does not inflate (the tests make sure each does).
pub fn serve(
    compressed: &[u8],
    accept_encoding: Option<&str>,
    content_type: &'static str,
) -> Option<Response<Vec<u8>>> {
    let as_is = accept_encoding.is_some_and(accepts_gzip);
    let body = if as_is {
        compressed.to_vec()
    } else {
        inflate(compressed)?
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if as_is {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Some(response)
}

/// Whether an `Accept-Encoding` value (RFC 9110 §12.5.3) accepts gzip: `gzip` or `x-gzip`
/// listed with a weight other than zero, or, when neither is listed, `*` with such a weight. An
/// absent header accepts any coding by the RFC, but a bare `curl` sends none and would print
/// compressed bytes, so only an explicit one counts.
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    let mut named = None;
    let mut any = None;
    for entry in accept_encoding.split(',') {
        let mut parts = entry.split(';');
        let coding = parts.next().unwrap_or("").trim();
        let accepted = parts.all(|parameter| !is_zero_weight(parameter));
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            named = Some(named.unwrap_or(false) || accepted);
        } else if coding == "*" {
            any = Some(any.unwrap_or(false) || accepted);
        }
    }
    named.or(any).unwrap_or(false)
}

/// A `q=0` parameter (a malformed weight is not read as a refusal).
fn is_zero_weight(parameter: &str) -> bool {
    crate::qvalue::q_parameter(parameter).is_some_and(|q| crate::qvalue::thousandths(q) == Some(0))
}

/// Inflates a gzip member: its header, the deflate stream (RFC 1951) and the length in the
/// trailer (the CRC is not recomputed: the only input is a constant the tests compare whole).
pub fn inflate(gzip: &[u8]) -> Option<Vec<u8>> {
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    const FHCRC: u8 = 2;
    let (&[0x1f, 0x8b, 8, flags], mut rest) = gzip.split_first_chunk::<4>()? else {
        return None;
    };
    rest = rest.get(6..)?; // MTIME, XFL, OS
    if flags & FEXTRA != 0 {
        let length = u16::from_le_bytes(*rest.first_chunk::<2>()?) as usize;
        rest = rest.get(2 + length..)?;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let end = rest.iter().position(|&byte| byte == 0)?;
            rest = &rest[end + 1..];
        }
    }
    if flags & FHCRC != 0 {
        rest = rest.get(2..)?;
    }
    let mut bits = Bits {
        data: rest,
        next: 0,
        buffer: 0,
        count: 0,
    };
    // The trailer's length sizes the output once; a stream that writes more or less than it
    // says is refused. (The bound keeps a corrupt trailer from asking for gigabytes.)
    let expected = u32::from_le_bytes(*rest.last_chunk::<4>()?) as usize;
    if expected > MAX_OUTPUT {
        return None;
    }
    let mut output = Output {
        bytes: vec![0; expected],
        written: 0,
    };
    inflate_stream(&mut bits, &mut output)?;
    let trailer = rest.get(bits.position()..)?;
    let size = u32::from_le_bytes(*trailer.get(4..)?.first_chunk::<4>()?);
    (size as usize == output.written && output.written == expected).then_some(output.bytes)
}

/// The largest member inflated: the embedded documents are tens of kilobytes.
const MAX_OUTPUT: usize = 1 << 24;

/// The inflated bytes, sized from the trailer, and how many the stream has written so far.
struct Output {
    bytes: Vec<u8>,
    written: usize,
}

impl Output {
    #[inline(always)]
    fn push(&mut self, byte: u8) -> Option<()> {
        *self.bytes.get_mut(self.written)? = byte;
        self.written += 1;
        Some(())
    }

    fn extend_from_slice(&mut self, source: &[u8]) -> Option<()> {
        let end = self.written.checked_add(source.len())?;
        self.bytes.get_mut(self.written..end)?.copy_from_slice(source);
        self.written = end;
        Some(())
    }

    /// Copies `length` bytes from `distance` back (RFC 1951 §3.2.3): they may overlap what they
    /// write, repeating the last `distance` bytes.
    #[inline(always)]
    fn copy_back(&mut self, distance: usize, length: usize) -> Option<()> {
        let start = self.written.checked_sub(distance)?;
        let end = self.written + length;
        if end > self.bytes.len() {
            return None;
        }
        if distance >= length {
            self.bytes.copy_within(start..start + length, self.written);
        } else {
            for index in start..start + length {
                self.bytes[index + distance] = self.bytes[index];
            }
        }
        self.written = end;
        Some(())
    }
}

/// Reads a deflate stream's bits, least significant first, a few bytes ahead into `buffer`.
struct Bits<'a> {
    data: &'a [u8],
    /// The next byte of `data` not yet in `buffer`.
    next: usize,
    buffer: u64,
    count: u32,
}

impl Bits<'_> {
    /// Fills `buffer` with as many whole bytes as fit (fewer only at the end of the data).
    #[inline(always)]
    fn refill(&mut self) {
        while self.count <= 56 {
            let Some(&byte) = self.data.get(self.next) else {
                return;
            };
            self.next += 1;
            self.buffer |= u64::from(byte) << self.count;
            self.count += 8;
        }
    }

    #[inline(always)]
    fn consume(&mut self, bits: u32) {
        self.buffer >>= bits;
        self.count -= bits;
    }

    /// The next `wanted` bits (at most 16) as a number.
    #[inline(always)]
    fn take(&mut self, wanted: u32) -> Option<u32> {
        self.refill();
        if self.count < wanted {
            return None;
        }
        let value = (self.buffer & ((1u64 << wanted) - 1)) as u32;
        self.consume(wanted);
        Some(value)
    }

    /// Drops the bits left in the current byte and hands back the whole bytes read ahead.
    fn skip_to_byte_boundary(&mut self) {
        self.next = self.position();
        self.buffer = 0;
        self.count = 0;
    }

    /// Where the first byte not (even partly) consumed starts.
    fn position(&self) -> usize {
        self.next - (self.count / 8) as usize
    }

    fn bytes(&mut self, length: usize) -> Option<&[u8]> {
        let bytes = self.data.get(self.next..self.next + length)?;
        self.next += length;
        Some(bytes)
    }
}

/// Codes up to this many bits long decode with one table lookup.
const FAST_BITS: u32 = 9;

/// A canonical Huffman code: how many codes each length has, the symbols in code order, and a
/// table indexed by the next [`FAST_BITS`] bits of the stream for the short codes.
struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
    /// `symbol << 4 | length` for the code that starts these bits, 0 for a longer code.
    fast: [u16; 1 << FAST_BITS],
}

impl Huffman {
    /// Builds the code from each symbol's code length (0: unused). Refuses an over-subscribed
    /// set of lengths; an incomplete one is allowed, as RFC 1951 allows a single distance code.
    fn new(lengths: &[u8]) -> Option<Self> {
        let mut counts = [0u16; 16];
        for &length in lengths {
            counts[usize::from(length)] += 1;
        }
        counts[0] = 0;
        let mut left: i32 = 1;
        for &count in &counts[1..] {
            left = left * 2 - i32::from(count);
            if left < 0 {
                return None;
            }
        }
        let mut offsets = [0u16; 16];
        for length in 1..15 {
            offsets[length + 1] = offsets[length] + counts[length];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (symbol, &length) in lengths.iter().enumerate() {
            if length != 0 {
                let slot = &mut offsets[usize::from(length)];
                symbols[usize::from(*slot)] = symbol as u16;
                *slot += 1;
            }
        }
        // Canonical codes of one length are consecutive numbers; the stream holds each one most
        // significant bit first, so the table is indexed by the code's bits reversed.
        let mut fast = [0u16; 1 << FAST_BITS];
        let (mut code, mut index) = (0u32, 0usize);
        for length in 1..=FAST_BITS {
            for _ in 0..counts[length as usize] {
                let reversed = code.reverse_bits() >> (32 - length);
                let entry = symbols[index] << 4 | length as u16;
                for slot in (reversed as usize..fast.len()).step_by(1 << length) {
                    fast[slot] = entry;
                }
                code += 1;
                index += 1;
            }
            code <<= 1;
        }
        Some(Self { counts, symbols, fast })
    }

    #[inline(always)]
    fn decode(&self, bits: &mut Bits<'_>) -> Option<u16> {
        bits.refill();
        let entry = self.fast[(bits.buffer & ((1 << FAST_BITS) - 1)) as usize];
        if entry != 0 {
            let length = u32::from(entry & 15);
            if length > bits.count {
                return None;
            }
            bits.consume(length);
            return Some(entry >> 4);
        }
        // A longer code: walk the lengths, keeping the first code of each and where its symbols
        // start.
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for (length, &count) in (1u32..).zip(&self.counts[1..]) {
            if length > bits.count {
                return None;
            }
            code |= ((bits.buffer >> (length - 1)) & 1) as i32;
            let count = i32::from(count);
            if code - first < count {
                bits.consume(length);
                return self.symbols.get((index + code - first) as usize).copied();
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        None
    }
}

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DISTANCE_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
    8193, 12289, 16385, 24577,
];
const DISTANCE_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];
/// The order in which a dynamic block lists the code lengths of its code-length code.
const CODE_LENGTH_ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

fn inflate_stream(bits: &mut Bits<'_>, output: &mut Output) -> Option<()> {
    loop {
        let last = bits.take(1)? == 1;
        match bits.take(2)? {
            0 => {
                bits.skip_to_byte_boundary();
                let header = bits.bytes(4)?;
                let length = u16::from_le_bytes([header[0], header[1]]);
                if length != !u16::from_le_bytes([header[2], header[3]]) {
                    return None;
                }
                output.extend_from_slice(bits.bytes(usize::from(length))?)?;
            }
            1 => {
                let mut lengths = [8u8; 288 + 30];
                lengths[144..256].fill(9);
                lengths[256..280].fill(7);
                lengths[288..].fill(5);
                let literals = Huffman::new(&lengths[..288])?;
                let distances = Huffman::new(&lengths[288..])?;
                inflate_block(bits, &literals, &distances, output)?;
            }
            2 => {
                let (literals, distances) = dynamic_codes(bits)?;
                inflate_block(bits, &literals, &distances, output)?;
            }
            _ => return None,
        }
        if last {
            return Some(());
        }
    }
}

fn dynamic_codes(bits: &mut Bits<'_>) -> Option<(Huffman, Huffman)> {
    let literal_count = bits.take(5)? as usize + 257;
    let distance_count = bits.take(5)? as usize + 1;
    let code_length_count = bits.take(4)? as usize + 4;
    if literal_count > 286 || distance_count > 30 {
        return None;
    }
    let mut code_lengths = [0u8; 19];
    for &symbol in &CODE_LENGTH_ORDER[..code_length_count] {
        code_lengths[symbol] = bits.take(3)? as u8;
    }
    let code_length_code = Huffman::new(&code_lengths)?;
    let mut lengths = Vec::with_capacity(literal_count + distance_count);
    while lengths.len() < literal_count + distance_count {
        let (value, repeat) = match code_length_code.decode(bits)? {
            length @ 0..=15 => (length as u8, 1),
            16 => (*lengths.last()?, 3 + bits.take(2)?),
            17 => (0, 3 + bits.take(3)?),
            _ => (0, 11 + bits.take(7)?),
        };
        for _ in 0..repeat {
            lengths.push(value);
        }
    }
    if lengths.len() != literal_count + distance_count || lengths[256] == 0 {
        return None;
    }
    let (literal_lengths, distance_lengths) = lengths.split_at(literal_count);
    Some((Huffman::new(literal_lengths)?, Huffman::new(distance_lengths)?))
}

fn inflate_block(bits: &mut Bits<'_>, literals: &Huffman, distances: &Huffman, output: &mut Output) -> Option<()> {
    loop {
        let symbol = usize::from(literals.decode(bits)?);
        if symbol < 256 {
            output.push(symbol as u8)?;
            continue;
        }
        if symbol == 256 {
            return Some(());
        }
        let code = symbol - 257;
        let length = usize::from(*LENGTH_BASE.get(code)?) + bits.take(u32::from(LENGTH_EXTRA[code]))? as usize;
        let code = usize::from(distances.decode(bits)?);
        let distance = usize::from(*DISTANCE_BASE.get(code)?) + bits.take(u32::from(DISTANCE_EXTRA[code]))? as usize;
        output.copy_back(distance, length)?;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// Compresses with the system's `gzip` (Debian's essential package), not with code of ours.
    pub fn gzip(data: &[u8], level: &str) -> Vec<u8> {
        let mut child = Command::new("gzip")
            .args(["-c", "-n", level])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("gzip runs");
        let mut stdin = child.stdin.take().expect("gzip's stdin");
        let input = data.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&input).expect("gzip reads"));
        let output = child.wait_with_output().expect("gzip ends");
        writer.join().expect("the writer ends");
        assert!(output.status.success());
        output.stdout
    }

    fn sample_inputs() -> Vec<Vec<u8>> {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut noise = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        };
        let random: Vec<u8> = (0..70_000).map(|_| noise()).collect();
        let few_symbols: Vec<u8> = (0..50_000).map(|_| b"ab"[usize::from(noise() & 1)]).collect();
        vec![
            Vec::new(),
            b"a".to_vec(),
            vec![0; 100_000],
            include_bytes!("api/openapi.json").to_vec(),
            include_bytes!("../README.md").to_vec(),
            random,
            few_symbols,
        ]
    }

    #[test]
    fn each_embedded_member_is_its_source_file_compressed() {
        for (compressed, source, name) in [
            (
                crate::api::OPENAPI_GZIP,
                &include_bytes!("api/openapi.json")[..],
                "src/api/openapi.json",
            ),
            (
                crate::views::PORTAL_CSS_GZIP,
                include_bytes!("views/portal.css"),
                "src/views/portal.css",
            ),
            (
                crate::views::PORTAL_JS_GZIP,
                include_bytes!("views/portal.js"),
                "src/views/portal.js",
            ),
        ] {
            let inflated = inflate(compressed).expect("the embedded member inflates");
            assert!(
                inflated == source,
                "{name}.gz is stale: gzip -9 -n -c {name} > {name}.gz"
            );
        }
    }

    #[test]
    fn what_gzip_compresses_inflates_back_at_every_level() {
        // Stored blocks (random bytes at -1), fixed and dynamic codes, long repeats, empty input.
        for input in sample_inputs() {
            for level in ["-1", "-6", "-9"] {
                let compressed = gzip(&input, level);
                assert!(
                    inflate(&compressed).as_deref() == Some(&input[..]),
                    "{} bytes at {level}",
                    input.len()
                );
            }
        }
    }

    #[test]
    fn optional_header_fields_are_skipped() {
        let mut compressed = gzip(b"hello, hello, hello", "-9");
        // FNAME and FCOMMENT set, with their zero-terminated texts after the fixed header.
        compressed[3] |= 8 | 16;
        let mut with_fields = compressed[..10].to_vec();
        with_fields.extend_from_slice(b"name.json\0a comment\0");
        with_fields.extend_from_slice(&compressed[10..]);
        assert_eq!(inflate(&with_fields).as_deref(), Some(&b"hello, hello, hello"[..]));
    }

    #[test]
    fn malformed_data_is_refused_without_panicking() {
        let document = gzip(include_bytes!("api/openapi.json"), "-9");
        for end in 0..document.len() {
            assert_eq!(inflate(&document[..end]), None, "truncated at {end}");
        }
        let mut seed = 7u32;
        for round in 0..20_000 {
            let mut mangled = document.clone();
            for _ in 0..1 + round % 4 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let at = (seed >> 8) as usize % mangled.len();
                mangled[at] ^= 1 << (seed % 8);
            }
            // Any answer but a panic; a flip the format cannot see (in MTIME, say) still inflates.
            let _ = inflate(&mangled);
        }
        assert_eq!(inflate(b"not gzip at all"), None);
        let mut wrong_size = document.clone();
        let at = wrong_size.len() - 1;
        wrong_size[at] ^= 1;
        assert_eq!(inflate(&wrong_size), None, "a trailer whose length disagrees");
    }

    /// A gzip member around one fixed-code block, from its bits in stream order (a Huffman code
    /// written most significant bit first, as RFC 1951 stores it).
    fn fixed_block_member(bits: &str, output_length: u8) -> Vec<u8> {
        let mut member = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        let bits: Vec<char> = bits.chars().filter(|c| !c.is_whitespace()).collect();
        let mut packed = vec![0u8; bits.len().div_ceil(8)];
        for (index, &bit) in bits.iter().enumerate() {
            if bit == '1' {
                packed[index / 8] |= 1 << (index % 8);
            }
        }
        member.extend_from_slice(&packed);
        member.extend_from_slice(&[0, 0, 0, 0, output_length, 0, 0, 0]);
        member
    }

    #[test]
    fn a_distance_before_the_start_is_refused() {
        // BFINAL, BTYPE 01 (read least significant first), 'a' (10010001), a copy of length 3
        // (symbol 257: 0000001) at distance 1 (00000), end of block (0000000).
        let copy_after_a = fixed_block_member("1 10 10010001 0000001 00000 0000000", 4);
        assert_eq!(inflate(&copy_after_a).as_deref(), Some(&b"aaaa"[..]));
        // The same copy with nothing before it to copy from.
        let copy_first = fixed_block_member("1 10 0000001 00000 0000000", 3);
        assert_eq!(inflate(&copy_first), None);
    }

    #[test]
    fn gzip_is_accepted_only_with_a_weight_above_zero_named_or_by_star() {
        for accepted in [
            "gzip",
            "gzip, deflate, br",
            "br;q=1.0, gzip;q=0.5",
            "*",
            "X-GZIP",
            "deflate, *;q=0.1",
            "*;q=0, gzip",
        ] {
            assert!(accepts_gzip(accepted), "{accepted}");
        }
        for refused in [
            "",
            "identity",
            "br, deflate",
            "gzip;q=0",
            "gzip; q=0.000",
            "*;q=0",
            "gzipped",
            // Named and refused: `*` does not override it.
            "gzip;q=0, *",
        ] {
            assert!(!accepts_gzip(refused), "{refused}");
        }
    }
}
