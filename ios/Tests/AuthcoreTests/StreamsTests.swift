import Authcore
import AuthcorePlatform
import Foundation
import XCTest

/// The package's streams (Sources/AuthcorePlatform): a sign-in observed as an AsyncStream,
/// approvals as an AsyncThrowingStream over the long-poll, and the times they carry as `Date`.
/// `within(seconds:)` only keeps a broken build from hanging the suite; nothing is measured.
final class StreamsTests: XCTestCase {
    private let bob = "bob@acme.example"

    /// One scenario, because the suite's classes run in name order and a user's sign-in changes
    /// with the phones others gave them: Bob (whom only CallbacksTests starts a sign-in for).
    func testBobsSignInThroughItsStreamThenHisApprovalsOnceEachUntilTheCollectorIsCancelled() async throws {
        let phone = try await bobWithAPhone()
        let starts = Mailbox<Int>()
        let outcomes = Mailbox<String>()
        let calls = Counter()
        let stream = approvalRequests(polling: try ApprovalPolling(repeatDelay: .milliseconds(50))) { wait in
            starts.put(calls.next())
            do {
                let answer = try await phone.pendingApprovals(waitSeconds: wait)
                outcomes.put("answered \(answer.count)")
                return answer
            } catch {
                outcomes.put(error is CancellationError ? "cancelled" : "\(error)")
                throw error
            }
        }
        let arrivals = Mailbox<ApprovalRequest>()
        let collector = Task { for try await request in stream { arrivals.put(request) } }

        // Bob signs in on his laptop: the phone's stream shows the request, with its times
        let laptop = try TestServer.newDevice()
        let before = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let (flow, number) = try await pushSignIn(laptop.signIn())
        let request = try await within(seconds: 60) { try await arrivals.take() }
        let after = Date()
        // the laptop's "Approve on your phone" screen carries the same expiry, as a Date
        guard case let .approvePush(_, screenExpiresAt) = flow.state() else { return XCTFail("\(flow.state())") }
        XCTAssertEqual(screenExpiresAt, request.expiresAt)
        XCTAssertEqual(request.kind, .signIn)
        XCTAssertEqual(request.prompt, .enter(length: 2))
        // the push lives 2 minutes (demo.toml's push ttl_s = 120)
        XCTAssertTrue(request.expiresAt >= before + 120 && request.expiresAt <= after + 120, "\(request.expiresAt)")
        XCTAssertTrue(request.context.time >= before && request.context.time <= after, "\(request.context.time)")

        // while it stays pending the stream asks again and again but yields it only once
        let asked = calls.value
        while try await within(seconds: 60, { try await starts.take() }) < asked + 3 {}
        XCTAssertTrue(arrivals.isEmpty, "yielded once")
        try await phone.approve(requestId: request.id, number: number)
        let signedIn = try await flow.waitForPhone().session()
        let email = try await signedIn.userInfo().email
        XCTAssertEqual(email, bob)

        // it keeps listening: the next sign-in's request arrives too, and is denied
        let (next, _) = try await pushSignIn(laptop.signIn())
        let second = try await within(seconds: 60) { try await arrivals.take() }
        XCTAssertNotEqual(second.id, request.id)
        try await phone.deny(requestId: second.id)
        let denied = await assertThrows(ClientError.self) { _ = try await next.waitForPhone() }
        XCTAssertEqual(denied, .PushDenied(fraudReported: false))

        // nothing is pending now: a question asked from here on is a long-poll waiting on the
        // server; the view goes away and cancels the collector: that call is cancelled, none follows
        let answeredBefore = calls.value
        var inFlight = 0
        while inFlight <= answeredBefore { inFlight = try await within(seconds: 60) { try await starts.take() } }
        collector.cancel()
        // each call records one outcome, in order: the last is the call in flight
        var last = ""
        for _ in 0..<inFlight { last = try await within(seconds: 60) { try await outcomes.take() } }
        XCTAssertEqual(last, "cancelled", "the long-poll was cancelled, not answered")
        let pending = try await phone.pendingApprovals(waitSeconds: 0)
        XCTAssertEqual(pending, [])
        XCTAssertTrue(starts.isEmpty, "no call after the collector ended")
    }

    func testTransientFailuresBackOffAndAPermanentOneEndsTheStream() async throws {
        let a = request("a"), b = request("b")
        let script = Script<[ApprovalRequest]>([
            .failure(AuthenticatorError.Network(retryable: true)),
            .failure(AuthenticatorError.Timeout),
            .failure(AuthenticatorError.RateLimited(retryAfterSeconds: 5)),
            .success([a]),
            .success([a]), // still pending: not yielded again
            .failure(AuthenticatorError.Server(status: 503)),
            .success([a, b]),
            .success([b]),
            .success([]), // both answered: the long-poll waited and found nothing
            .failure(AuthenticatorError.UpgradeRequired),
        ])
        let pauses = Mailbox<Duration>()
        let waits = Mailbox<UInt32>()
        let stream = approvalRequests(polling: try ApprovalPolling(waitSeconds: 25), sleep: { pauses.put($0) }) { wait in
            waits.put(wait)
            return try script.next()
        }
        var yielded: [String] = []
        let ended = await assertThrows(AuthenticatorError.self) {
            for try await request in stream { yielded.append(request.id) }
        }
        XCTAssertEqual(ended, .UpgradeRequired)
        XCTAssertEqual(ended?.localizedDescription, "this app must be updated to approve sign-ins; update it from the app store")
        XCTAssertEqual(yielded, ["a", "b"])
        // 1 s, 2 s, then at least the 5 s the server asked; 2 s after an answer with nothing new;
        // the backoff starts over after an answer (1 s); 2 s after b alone
        XCTAssertEqual(pauses.drain(), [.seconds(1), .seconds(2), .seconds(5), .seconds(2), .seconds(1), .seconds(2)])
        XCTAssertEqual(waits.drain(), Array(repeating: 25, count: 10))
        XCTAssertTrue(script.isEmpty)
    }

    func testPollingSettingsOutsideTheirRangeAreRefused() {
        XCTAssertThrowsError(try ApprovalPolling(waitSeconds: 0)) { XCTAssertEqual("\($0)", "waitSeconds is 1 to 30") }
        XCTAssertThrowsError(try ApprovalPolling(waitSeconds: 31)) { XCTAssertEqual("\($0)", "waitSeconds is 1 to 30") }
        XCTAssertThrowsError(try ApprovalPolling(repeatDelay: .zero)) { XCTAssertEqual("\($0)", "the delays are positive") }
        XCTAssertThrowsError(try ApprovalPolling(firstBackoff: .seconds(10), maxBackoff: .seconds(1))) {
            XCTAssertEqual("\($0)", "maxBackoff is at least firstBackoff")
        }
    }

    /// Password, then the push to the phone (picked when the screen offers a choice).
    private func pushSignIn(_ flow: SignInFlow) async throws -> (SignInFlow, String) {
        var state = try await passwordSteps(flow, bob, "bob-demo-password")
        if case .chooseSecondFactor = state { state = try await flow.chooseSecondFactor(factor: .push) }
        guard case let .approvePush(number, _) = state else { throw TestFailure("expected a push, got \(state)") }
        return (flow, number)
    }

    /// Bob signs in with his password and TOTP code, the screens observed through the flow's
    /// stream up to Done, and adds his phone from the session.
    private func bobWithAPhone() async throws -> Authenticator {
        let phone = try TestServer.newPhone("Bob's Swift phone", keys: SoftwareBackedKeys(), fingerprint: Fingerprint())
        _ = try await phone.addFromQr(payload: "otpauth://totp/Acme:\(bob)?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Acme")
        let flow = try TestServer.newDevice().signIn()
        let states = flow.states()
        let watcher = Task { () -> [String] in
            var seen: [String] = []
            for await state in states {
                seen.append(state.name)
                if case .done = state { break }
            }
            return seen
        }

        let before = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        var state = try await passwordSteps(flow, bob, "bob-demo-password")
        if case .chooseSecondFactor = state { state = try await flow.chooseSecondFactor(factor: .totp) }
        guard case .enterTotp = state else { throw TestFailure("expected the TOTP screen, got \(state)") }
        let code = try XCTUnwrap(phone.codes(now: Date()).first).code
        let done = try await flow.submitCode(code: code)

        // the stream showed the screens in order, from the first to Done
        let seen = try await within(seconds: 60) {
            await withTaskCancellationHandler { await watcher.value } onCancel: { watcher.cancel() }
        }
        XCTAssertEqual(seen.first, "EnterIdentifier")
        XCTAssertEqual(seen.last, "Done")
        XCTAssertTrue(seen.contains("EnterTotp"), "\(seen)")

        // the history's newest entry is this sign-in, at a Date between the two readings
        let session = try done.session()
        let history = try await session.signInHistory()
        let newest = try XCTUnwrap(history.max { $0.at < $1.at })
        XCTAssertTrue(newest.at >= before && newest.at <= Date(), "\(newest.at)")
        XCTAssertEqual(newest.result, "success")

        let enrollment = try await session.addAuthenticator()
        XCTAssertGreaterThan(enrollment.expiresAt, Date())
        _ = try await phone.addFromQr(payload: enrollment.qrPayload.expose())
        let test = try await session.authenticatorEnrollment(
            enrollmentId: enrollment.enrollmentId, shown: .waitingForDevice, waitSeconds: 5)
        guard case let .approveTest(number, _) = test else { throw TestFailure("expected the test approval, got \(test)") }
        let pending = try await phone.pendingApprovals(waitSeconds: 5)
        try await phone.approve(requestId: try XCTUnwrap(pending.first).id, number: number)
        let finished = try await session.authenticatorEnrollment(enrollmentId: enrollment.enrollmentId, shown: test, waitSeconds: 5)
        guard case .completed = finished else { throw TestFailure("expected Completed, got \(finished)") }
        return phone
    }

    private func request(_ id: String) -> ApprovalRequest {
        ApprovalRequest(
            id: id, account: "dv_1", accountLabel: "Acme: \(bob)", kind: .signIn, prompt: .enter(length: 2),
            context: ApprovalContext(app: "Authcore Demo", ip: "127.0.0.1", userAgent: "Swift", location: nil,
                                     time: Date(timeIntervalSince1970: 1_767_225_600)),
            expiresAt: Date(timeIntervalSince1970: 1_767_225_720)
        )
    }
}

/// Values handed from one task to another; `take()` waits for the next (throws if cancelled).
final class Mailbox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    private var waiters: [(id: UUID, continuation: CheckedContinuation<T, Error>)] = []

    func put(_ item: T) {
        lock.lock()
        if waiters.isEmpty {
            items.append(item)
            lock.unlock()
        } else {
            let waiter = waiters.removeFirst()
            lock.unlock()
            waiter.continuation.resume(returning: item)
        }
    }

    func take() async throws -> T {
        let id = UUID()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
                lock.lock()
                if !items.isEmpty {
                    let item = items.removeFirst()
                    lock.unlock()
                    continuation.resume(returning: item)
                } else if Task.isCancelled {
                    lock.unlock()
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiters.append((id, continuation))
                    lock.unlock()
                }
            }
        } onCancel: {
            lock.lock()
            let waiter = waiters.firstIndex { $0.id == id }.map { waiters.remove(at: $0) }
            lock.unlock()
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    var count: Int { lock.lock(); defer { lock.unlock() }; return items.count }
    var isEmpty: Bool { count == 0 }

    func drain() -> [T] {
        lock.lock(); defer { lock.unlock() }
        let all = items
        items = []
        return all
    }
}

/// Numbers the calls of a fetch.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var calls = 0
    var value: Int { lock.lock(); defer { lock.unlock() }; return calls }
    func next() -> Int { lock.lock(); defer { lock.unlock() }; calls += 1; return calls }
}

/// The answers a fake `pendingApprovals` gives, in order.
final class Script<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [Result<T, Error>]
    init(_ answers: [Result<T, Error>]) { self.answers = answers }
    var isEmpty: Bool { lock.lock(); defer { lock.unlock() }; return answers.isEmpty }
    func next() throws -> T {
        lock.lock()
        guard !answers.isEmpty else { lock.unlock(); throw TestFailure("asked after a permanent failure") }
        let answer = answers.removeFirst()
        lock.unlock()
        return try answer.get()
    }
}
