#if os(iOS)
import Authcore
import CoreImage.CIFilterBuiltins
import SwiftUI

/// Renders the sign-in state; each button is one gesture of AppModel.
struct SignInScreen: View {
    @EnvironmentObject private var model: AppModel
    @State private var identifier = ""
    @State private var secret = ""

    var body: some View {
        NavigationStack {
            Form {
                screen
                if let error = model.error {
                    Text(error).foregroundStyle(.red)
                }
            }
            .navigationTitle("Sign in")
        }
    }

    @ViewBuilder private var screen: some View {
        switch model.state {
        case .enterIdentifier, .failed:
            if case let .failed(reason) = model.state { Text(reason.localizedDescription) }
            TextField("Email or phone number", text: $identifier)
                .textContentType(.username).keyboardType(.emailAddress).textInputAutocapitalization(.never)
            Button("Next") { model.start(identifier) }
        case let .useSignInHost(host):
            ProgressView("Continuing at \(host)")
        case let .chooseMethod(identifier, organization, methods):
            Section(organization ?? identifier) {
                ForEach(methods, id: \.displayName) { method in
                    Button(method.displayName) { model.choose(method) }
                }
            }
        case let .enterPassword(identifier):
            Text(identifier)
            SecureField("Password", text: $secret).textContentType(.password)
            Button("Sign in") { model.submit(password: secret); secret = "" }
            Button("Back") { model.back() }
        case let .enterCode(_, _, destinationHint, length, _, resendAfter):
            CodeEntry(title: "Enter the code sent to \(destinationHint)", length: length, resendAfter: resendAfter)
        case let .chooseSecondFactor(options):
            ForEach(options, id: \.displayName) { option in
                Button(option.displayName) { model.choose(secondFactor: option.kind) }
            }
        case let .enterTotp(length):
            CodeEntry(title: "Enter the code from your authenticator app", length: length, resendAfter: nil)
        case let .enterBackupCode(remaining):
            CodeEntry(title: "Enter a backup code (\(remaining) left)", length: nil, resendAfter: nil)
        case let .approvePush(number, _):
            NumberScreen(title: "Approve sign in request",
                         detail: "Open your authenticator app and enter the number shown to sign in.", number: number)
            Button("Send another request") { model.resendPush() }
        case let .enrollAuthenticator(skipsLeft, mandatory):
            Section("Protect your account") {
                Text("Your organisation asks you to set up an authenticator app.")
                Button("Set it up now") { model.enrollAuthenticator() }
                if !mandatory {
                    Button("Skip for now (\(skipsLeft) times left)") { model.skipEnrollment() }
                }
            }
        case let .activateAuthenticator(qrPayload, activationCode, serverUrl, label, _):
            ActivationScreen(qrPayload: qrPayload, activationCode: activationCode, serverURL: serverUrl, label: label)
        case let .approveTestPush(number, _):
            NumberScreen(title: "Approve the test notification",
                         detail: "Enter this number in your authenticator app to finish setting it up.", number: number)
        case let .chooseNewPassword(identifier):
            Text(identifier)
            SecureField("New password", text: $secret).textContentType(.newPassword)
            Button("Save") { model.choose(newPassword: secret); secret = "" }
        case let .openBrowser(method, url):
            if let url, let link = URL(string: url) {
                Link("Continue with \(method.displayName)", destination: link)
            } else {
                Text("\(method.displayName) is not available in this app.")
            }
        case let .done(session):
            SignedIn(session: session)
        }
    }
}

/// A code field; with `resendAfter`, "Resend code" counts down first.
private struct CodeEntry: View {
    @EnvironmentObject private var model: AppModel
    let title: String
    let length: UInt32?
    let resendAfter: UInt64?
    @State private var code = ""
    @State private var shownAt = Date()

    var body: some View {
        Text(title)
        TextField(length.map { "\($0) digits" } ?? "Code", text: $code)
            .textContentType(.oneTimeCode).keyboardType(.numberPad)
        Button("Continue") { model.submit(code: code); code = "" }
        if let resendAfter {
            TimelineView(.periodic(from: .now, by: 1)) { context in
                let left = Int(resendAfter) - Int(context.date.timeIntervalSince(shownAt))
                Button(left > 0 ? "Resend code in \(left) s" : "Resend code") {
                    model.resendCode()
                    shownAt = Date()
                }
                .disabled(left > 0)
            }
        }
    }
}

/// The number to enter on the phone, while the core waits for it.
private struct NumberScreen: View {
    let title: String
    let detail: String
    let number: String

    var body: some View {
        Section(title) {
            Text(number).font(.system(size: 64, weight: .bold, design: .rounded)).frame(maxWidth: .infinity)
            Text(detail)
            ProgressView()
        }
    }
}

/// The QR code for the authenticator, with "Can't scan image?" for typing the code instead.
private struct ActivationScreen: View {
    let qrPayload: Sensitive
    let activationCode: Sensitive
    let serverURL: String
    let label: String
    @State private var showCode = false

    var body: some View {
        Section("Scan the QR code with your authenticator app") {
            if let image = qrImage(qrPayload.expose()) {
                Image(uiImage: image).interpolation(.none).resizable().scaledToFit().frame(maxWidth: 240)
            }
            Text(label)
            Button("Can't scan image?") { showCode.toggle() }
            if showCode {
                LabeledContent("Code", value: activationCode.expose())
                LabeledContent("URL", value: serverURL)
            }
        }
    }

    private func qrImage(_ text: String) -> UIImage? {
        let filter = CIFilter.qrCodeGenerator()
        filter.message = Data(text.utf8)
        guard let output = filter.outputImage,
              let cg = CIContext().createCGImage(output, from: output.extent) else { return nil }
        return UIImage(cgImage: cg)
    }
}

private struct SignedIn: View {
    @EnvironmentObject private var model: AppModel
    let session: Session
    @State private var name = ""

    var body: some View {
        Section("Signed in") {
            Text(name)
            Button("Log out") { Task { try? await session.logout(); model.signedOut() } }
        }
        .task { name = (try? await session.userInfo().name) ?? "" }
    }
}
#endif
