import Authcore
import Foundation
import XCTest

/// Remembers every screen the flow showed, by name.
final class ScreenRecorder: SignInListener, @unchecked Sendable {
    private let lock = NSLock()
    private var names: [String] = []

    var screens: [String] { lock.lock(); defer { lock.unlock() }; return names }

    func onStateChanged(state: SignInState) {
        lock.lock(); names.append(state.name); lock.unlock()
    }
}

extension SignInState {
    /// The case name ("ChooseMethod"), as the Kotlin suite records screens.
    var name: String {
        let label = String(describing: self).prefix { $0 != "(" }
        return label.prefix(1).uppercased() + label.dropFirst()
    }

    /// The entry of the method list the user taps.
    func method(_ kind: MethodKind) throws -> SignInMethod {
        guard case let .chooseMethod(_, _, methods) = self else { throw TestFailure("expected the method list, got \(self)") }
        guard let method = methods.first(where: { $0.kind == kind }) else { throw TestFailure("no \(kind) in \(methods)") }
        return method
    }

    func session() throws -> Session {
        guard case let .done(session) = self else { throw TestFailure("expected Done, got \(self)") }
        return session
    }
}

/// Email -> Password -> on a new device the "Confirm it's you" code by email.
func passwordSteps(_ flow: SignInFlow, _ email: String, _ password: String) async throws -> SignInState {
    let methods = try await flow.start(identifier: email)
    _ = try await flow.chooseMethod(method: methods.method(.password))
    var state = try await flow.submitPassword(password: password)
    if case .enterCode = state {
        state = try await flow.submitCode(code: TestServer.lastCode(to: email))
    }
    return state
}

/// Runs `body` and answers the error it threw, failing if it threw none or another type.
func assertThrows<E: Error>(_ type: E.Type, file: StaticString = #filePath, line: UInt = #line,
                            _ body: () async throws -> Void) async -> E? {
    do {
        try await body()
        XCTFail("expected \(E.self), nothing was thrown", file: file, line: line)
    } catch let error as E {
        return error
    } catch {
        XCTFail("expected \(E.self), got \(error)", file: file, line: line)
    }
    return nil
}

/// `body`'s answer, or a failure if it takes longer than `seconds` (a guard against a hang).
func within<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let answer = first else {
            throw TestFailure("no answer within \(seconds) s")
        }
        return answer
    }
}
