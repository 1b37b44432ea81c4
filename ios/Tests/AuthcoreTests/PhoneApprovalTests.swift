import Authcore
import XCTest

/// Dave (Globex) on his laptop (an AuthClient) and his phone (an Authenticator whose DeviceKeys
/// are implemented in Swift): enrollment by QR, the test approval, then a sign-in approved by
/// entering the number on the phone. The server verifies every signature.
final class PhoneApprovalTests: XCTestCase {
    private let dave = "dave@globex.example"
    private let davePassword = "dave-demo-password"

    func testDaveEnrollsHisPhoneByQrAndApprovesSignInsByEnteringTheNumber() async throws {
        let keys = SoftwareBackedKeys()
        let fingerprint = Fingerprint()
        let phone = try TestServer.newPhone("Dave's Swift phone", keys: keys, fingerprint: fingerprint)
        let laptop = try TestServer.newDevice()

        // laptop: email -> Password -> new device, "Confirm it's you" by email
        let flow = laptop.signIn()
        let methods = try await flow.start(identifier: dave)
        let serverUrl = await flow.serverUrl()
        XCTAssertEqual(serverUrl, TestServer.globexUrl)
        _ = try await flow.chooseMethod(method: methods.method(.password))
        let confirm = try await flow.submitPassword(password: davePassword)
        guard case let .enterCode(purpose, _, _, _, _, _) = confirm else { return XCTFail("\(confirm)") }
        XCTAssertEqual(purpose, .verifyDevice)

        // "Protect your account": Skip for now (3 times left) / Set it up now
        let protect = try await flow.submitCode(code: TestServer.lastCode(to: dave))
        guard case let .enrollAuthenticator(skipsLeft, mandatory) = protect else { return XCTFail("\(protect)") }
        XCTAssertEqual(skipsLeft, 3)
        XCTAssertFalse(mandatory)
        let qr = try await flow.enrollAuthenticator()
        guard case let .activateAuthenticator(qrPayload, activationCode, _, label, _) = qr else { return XCTFail("\(qr)") }
        XCTAssertEqual(label, "Globex: \(dave)")
        XCTAssertFalse(String(describing: qr).contains(activationCode.expose()), "the activation code is redacted")

        // phone: scans the QR code; a key is generated through the Swift DeviceKeys and registered
        let added = try await phone.addFromQr(payload: qrPayload.expose())
        guard case let .push(account) = added else { return XCTFail("\(added)") }
        XCTAssertEqual(account.label, "Globex: \(dave)")
        XCTAssertTrue(account.deviceId.hasPrefix("dv_"))
        XCTAssertEqual(keys.aliases.count, 1)

        // laptop: "Approve the test notification" with its number; the phone enters it
        let test = try await flow.waitForPhone()
        guard case let .approveTestPush(testNumber, _) = test else { return XCTFail("\(test)") }
        let testRequests = try await phone.pendingApprovals(waitSeconds: 5)
        XCTAssertEqual(testRequests.count, 1)
        let testRequest = try XCTUnwrap(testRequests.first)
        XCTAssertEqual(testRequest.kind, .test)
        XCTAssertEqual(testRequest.prompt, .enter(length: 2))
        try await phone.approve(requestId: testRequest.id, number: testNumber)
        XCTAssertEqual(fingerprint.asked, ["Finish setting up Globex: \(dave)"])
        let session = try await flow.waitForPhone().session()
        let devices = try await session.devices()
        XCTAssertEqual(devices.map(\.displayName), ["Dave's Swift phone"])
        XCTAssertEqual(devices.first?.state, "active")

        // next sign-in on the recognised laptop: password, then "enter 42 on your phone"
        let push = laptop.signIn()
        let approve = try await passwordSteps(push, dave, davePassword)
        guard case let .approvePush(number, _) = approve else { return XCTFail("\(approve)") }
        XCTAssertEqual(number.count, 2)
        let requests = try await phone.pendingApprovals(waitSeconds: 10)
        XCTAssertEqual(requests.count, 1)
        let request = try XCTUnwrap(requests.first)
        XCTAssertEqual(request.kind, .signIn)
        XCTAssertEqual(request.context.app, "Authcore Demo")
        XCTAssertEqual(request.context.ip, "127.0.0.1")

        // a number of the wrong shape is refused on the phone before anything is sent
        let wrongShape = await assertThrows(AuthenticatorError.self) { try await phone.approve(requestId: request.id, number: "7") }
        XCTAssertEqual(wrongShape, .InvalidNumber(length: 2))

        let signaturesBefore = keys.signatures
        try await phone.approve(requestId: request.id, number: number)
        XCTAssertGreaterThan(keys.signatures, signaturesBefore, "the approval was signed through the Swift DeviceKeys")
        let second = try await push.waitForPhone().session()
        let email = try await second.userInfo().email
        XCTAssertEqual(email, dave)
        let history = try await session.signInHistory()
        XCTAssertTrue(history.contains { $0.method == "push" || $0.factors.contains("push") })

        // a push denied on the phone fails the sign-in with PushDenied
        let denied = laptop.signIn()
        let waiting = try await passwordSteps(denied, dave, davePassword)
        guard case .approvePush = waiting else { return XCTFail("\(waiting)") }
        let toDeny = try await phone.pendingApprovals(waitSeconds: 10)
        XCTAssertEqual(toDeny.count, 1)
        try await phone.deny(requestId: XCTUnwrap(toDeny.first).id)
        let error = await assertThrows(ClientError.self) { _ = try await denied.waitForPhone() }
        XCTAssertEqual(error, .PushDenied(fraudReported: false))

        // the biometric prompt throws: "not verified", nothing is signed or sent
        let crashed = laptop.signIn()
        let asking = try await passwordSteps(crashed, dave, davePassword)
        guard case .approvePush = asking else { return XCTFail("\(asking)") }
        let toAnswer = try await phone.pendingApprovals(waitSeconds: 10)
        let pending = try XCTUnwrap(toAnswer.first)
        fingerprint.throwsInstead = true
        let signaturesNow = keys.signatures
        let notVerified = await assertThrows(AuthenticatorError.self) { try await phone.approve(requestId: pending.id, number: "00") }
        XCTAssertEqual(notVerified, .UserNotVerified)
        XCTAssertEqual(keys.signatures, signaturesNow)
        fingerprint.throwsInstead = false
        try await phone.deny(requestId: pending.id)

        // APNs hands the phone a token: the server has it, and nil turns pushes off
        let pushEnabled = { try await session.devices().map(\.pushEnabled) }
        var enabled = try await pushEnabled()
        XCTAssertEqual(enabled, [false])
        try await phone.updatePushToken(token: "0a1b2c3d4e5f")
        enabled = try await pushEnabled()
        XCTAssertEqual(enabled, [true])
        try await phone.updatePushToken(token: nil)
        enabled = try await pushEnabled()
        XCTAssertEqual(enabled, [false])

        // "No numbers in your app?": an app from before number matching is told to update, and the
        // sign-in says the phone app must be updated instead of sending a push nobody can answer
        let alias = try XCTUnwrap(keys.aliases.first)
        let (status, body) = try await TestServer.fetchAsAnOldApp(deviceId: account.deviceId) {
            try keys.sign(alias: alias, message: $0)
        }
        XCTAssertEqual(status, 426, body)
        XCTAssertTrue(body.contains("\"upgrade_required\""), body)
        let tooOld = laptop.signIn()
        _ = try await tooOld.chooseMethod(method: try await tooOld.start(identifier: dave).method(.password))
        let upgrade = await assertThrows(ClientError.self) { _ = try await tooOld.submitPassword(password: davePassword) }
        XCTAssertEqual(upgrade, .PhoneAppTooOld)
        XCTAssertEqual(
            upgrade?.description,
            "the authenticator app on your phone must be updated to show sign-in numbers; update it, or choose another way to sign in"
        )
        // the updated app's next fetch makes the phone reachable again
        let none = try await phone.pendingApprovals(waitSeconds: 0)
        XCTAssertTrue(none.isEmpty, "\(none)")
        let again = laptop.signIn()
        let asked = try await passwordSteps(again, dave, davePassword)
        guard case .approvePush = asked else { return XCTFail("\(asked)") }
        let fresh = try await phone.pendingApprovals(waitSeconds: 10)
        try await phone.deny(requestId: try XCTUnwrap(fresh.first).id)

        let ended = try await session.logoutEverywhere()
        XCTAssertGreaterThanOrEqual(ended, 2)
    }
}
