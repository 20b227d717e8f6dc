import Testing
@testable import GRPCNGHTTP2

@Suite struct MessageDeframerTests {
    private func framed(_ messages: [[UInt8]]) -> [UInt8] {
        messages.flatMap { MessageFramer.frame($0) }
    }

    private func deframe(_ bytes: [UInt8], chunkSizes: [Int], limit: Int = 1 << 20) throws -> [[UInt8]] {
        var deframer = MessageDeframer(maxMessageBytes: limit)
        var messages: [[UInt8]] = []
        var offset = 0
        var turn = 0
        while offset < bytes.count {
            let size = min(chunkSizes[turn % chunkSizes.count], bytes.count - offset)
            try deframer.feed(Array(bytes[offset..<(offset + size)])) { messages.append($0) }
            offset += size
            turn += 1
        }
        #expect(!deframer.hasPartialMessage)
        return messages
    }

    @Test func framerWritesFlagAndBigEndianLength() {
        #expect(MessageFramer.frame([7, 8, 9]) == [0, 0, 0, 0, 3, 7, 8, 9])
        #expect(Array(MessageFramer.frame(Array(repeating: 1, count: 0x010203)).prefix(5)) == [0, 0, 0x01, 0x02, 0x03])
    }

    @Test func decodesMessagesFedByteByByte() throws {
        let messages: [[UInt8]] = [[1, 2, 3], [], Array(0..<200)]
        #expect(try deframe(framed(messages), chunkSizes: [1]) == messages)
    }

    @Test(arguments: [[2], [3, 7], [5], [6, 1, 13], [4096]])
    func decodesMessagesFedInOddChunks(chunkSizes: [Int]) throws {
        let messages: [[UInt8]] = (0..<5).map { index in (0..<(index * 37)).map { UInt8(truncatingIfNeeded: $0 &* 31) } }
        #expect(try deframe(framed(messages), chunkSizes: chunkSizes) == messages)
    }

    @Test func zeroLengthMessageCompletesWithItsPrefix() throws {
        var deframer = MessageDeframer(maxMessageBytes: 16)
        var count = 0
        try deframer.feed([0, 0, 0, 0, 0]) { message in
            #expect(message.isEmpty)
            count += 1
        }
        #expect(count == 1)
    }

    @Test func refusesOversizedLengthFromThePrefixAlone() {
        var deframer = MessageDeframer(maxMessageBytes: 1024)
        #expect(throws: MessageDeframer.Failure.messageTooLarge(declared: 1025, limit: 1024)) {
            try deframer.feed([0, 0, 0, 0x04, 0x01]) { _ in Issue.record("no message expected") }
        }
    }

    @Test func oversizedFailureMapsToResourceExhausted() {
        #expect(MessageDeframer.Failure.messageTooLarge(declared: 9, limit: 8).status.code == .resourceExhausted)
    }

    @Test func refusesCompressedFlagWithoutEncoding() {
        var deframer = MessageDeframer(maxMessageBytes: 1024)
        #expect(throws: MessageDeframer.Failure.compressedWithoutEncoding) {
            try deframer.feed([1, 0, 0, 0, 1, 9]) { _ in }
        }
        #expect(MessageDeframer.Failure.compressedWithoutEncoding.status.code == .internal)
    }

    @Test func refusesUnknownFlagValues() {
        var deframer = MessageDeframer(maxMessageBytes: 1024)
        #expect(throws: MessageDeframer.Failure.invalidCompressedFlag(2)) {
            try deframer.feed([2, 0, 0, 0, 0]) { _ in }
        }
    }

    @Test func reportsAPartialMessage() throws {
        var deframer = MessageDeframer(maxMessageBytes: 1024)
        try deframer.feed([0, 0, 0]) { _ in }
        #expect(deframer.hasPartialMessage)
        try deframer.feed([0, 2, 1]) { _ in }
        #expect(deframer.hasPartialMessage)
        var done = false
        try deframer.feed([2]) { message in
            #expect(message == [1, 2])
            done = true
        }
        #expect(done)
        #expect(!deframer.hasPartialMessage)
    }
}
